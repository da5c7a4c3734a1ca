package synth

// The synthetic EuroBloodNet: every person, patient and case below is
// invented. Hospitals are real CPMS training centres; their codes follow
// the CPMS centre numbering (country code and number).

type centre struct {
	Code, Name, City, Country string
}

var centres = []centre{
	{"BE10", "University Hospital Leuven", "Leuven", "BE"},
	{"BG07", "University Hospital St. Marina Varna", "Varna", "BG"},
	{"CY01", "Archbishop Makarios III Hospital", "Nicosia", "CY"},
	{"CZ08", "University Hospital Brno", "Brno", "CZ"},
	{"FR08", "Hôpital Saint-Louis", "Paris", "FR"},
	{"IT10", "Azienda Ospedaliera Universitaria Policlinico Paolo Giaccone Palermo", "Palermo", "IT"},
}

// person is a CPMS user: a Practitioner and one PractitionerRole. Centre
// is empty for a role held at ERN level (a guest expert from outside the
// network's centres).
type person struct {
	ID             string
	Given, Family  string
	Prefix         string
	Centre         string
	Roles          []string
	Areas          []string
	Specialty      string // SNOMED CT practice code
	SpecialtyLabel string
}

var people = []person{
	{ID: "be10-wouters", Prefix: "Dr", Given: "Katrien", Family: "Wouters", Centre: "BE10",
		Roles: []string{"healthcare-professional", "member-expert"}, Areas: []string{"Red cell defects", "Haemoglobinopathies"},
		Specialty: "394803006", SpecialtyLabel: "Clinical haematology"},
	{ID: "bg07-stoyanov", Prefix: "Dr", Given: "Radoslav", Family: "Stoyanov", Centre: "BG07",
		Roles: []string{"healthcare-professional"}, Areas: []string{"Bone marrow failure"},
		Specialty: "394537008", SpecialtyLabel: "Paediatric specialty"},
	{ID: "cy01-charalambous", Prefix: "Dr", Given: "Andri", Family: "Charalambous", Centre: "CY01",
		Roles: []string{"healthcare-professional", "member-expert"}, Areas: []string{"Haemoglobinopathies"},
		Specialty: "394803006", SpecialtyLabel: "Clinical haematology"},
	{ID: "cz08-sedlackova", Prefix: "Dr", Given: "Veronika", Family: "Sedláčková", Centre: "CZ08",
		Roles: []string{"healthcare-professional", "member-expert"}, Areas: []string{"Bleeding and coagulation disorders"},
		Specialty: "394803006", SpecialtyLabel: "Clinical haematology"},
	{ID: "fr08-garnier", Prefix: "Pr", Given: "Étienne", Family: "Garnier", Centre: "FR08",
		Roles: []string{"healthcare-professional", "member-expert"}, Areas: []string{"Bone marrow failure", "Red cell defects"},
		Specialty: "394803006", SpecialtyLabel: "Clinical haematology"},
	{ID: "it10-lo-cascio", Prefix: "Dr", Given: "Giuseppina", Family: "Lo Cascio", Centre: "IT10",
		Roles: []string{"healthcare-professional", "member-expert"}, Areas: []string{"Haemoglobinopathies", "Red cell defects"},
		Specialty: "394537008", SpecialtyLabel: "Paediatric specialty"},
	{ID: "fr08-marchetti", Prefix: "Dr", Given: "Sylvie", Family: "Marchetti", Centre: "FR08",
		Roles: []string{"ern-coordinator", "panel-manager-ern"}},
	{ID: "cz08-holub", Given: "Jakub", Family: "Holub", Centre: "CZ08",
		Roles: []string{"researcher"}},
	{ID: "guest-lindqvist", Prefix: "Dr", Given: "Maja", Family: "Lindqvist",
		Roles: []string{"guest-expert"}, Areas: []string{"Bleeding and coagulation disorders"},
		Specialty: "394803006", SpecialtyLabel: "Clinical haematology"},
}

type diagnosis struct {
	Orpha, OrphaDisplay string
	ICD10, ICD10Display string
	Verification        string // condition-ver-status code
	Onset               string // yyyy, yyyy-mm or yyyy-mm-dd
}

type phenotype struct {
	HPO, Display string
	Excluded     bool
	Onset        string
}

type comorbidity struct {
	ICD10, Display string
}

type patient struct {
	Centre        string
	Number        int
	Given, Family string
	Gender        string
	BirthDate     string
	Enrolled      string
	RecordLabel   string
	HP            string // the referring healthcare professional (person ID)
	// Registers names the ERN registries the registry consent covers;
	// none means it was refused.
	Registers       []string
	ResearchContact bool
	EpisodeStart    string
	EpisodeEnd      string // empty while the episode goes on
	EpisodeClass    string // v3 ActCode: AMB, IMP
	Reason          string
	Diagnoses       []diagnosis
	Phenotypes      []phenotype
	Comorbidities   []comorbidity
	Medications     []string
	Gene            string // a pathogenic variant found, as gene and HGVS
	Variant         string
	Zygosity        string // LOINC answer code
}

const enrol = "EuroBloodNet Registry (ENROL)"

var patients = []patient{
	{Centre: "BE10", Number: 6, Given: "Noor", Family: "Dewulf", Gender: "female", BirthDate: "2009-07-03",
		Enrolled: "2025-09-15", RecordLabel: "LEU-HEM-22871", HP: "be10-wouters",
		Registers: []string{enrol}, ResearchContact: true,
		EpisodeStart: "2025-08-02", EpisodeEnd: "2025-08-09", EpisodeClass: "IMP",
		Reason:    "Second acute chest syndrome in twelve months despite hydroxyurea",
		Diagnoses: []diagnosis{{"ORPHA:232", "Sickle cell anemia", "D57.0", "Sickle-cell anaemia with crisis", "confirmed", "2009-11"}},
		Phenotypes: []phenotype{
			{HPO: "HP:0012532", Display: "Chronic pain", Onset: "2016"},
			{HPO: "HP:0001081", Display: "Cholelithiasis", Onset: "2023-04"},
			{HPO: "HP:0002140", Display: "Ischemic stroke", Excluded: true},
		},
		Comorbidities: []comorbidity{{"K80.2", "Calculus of gallbladder without cholecystitis"}},
		Medications:   []string{"Hydroxycarbamide", "Folic acid"},
		Gene:          "HBB", Variant: "NM_000518.5:c.20A>T", Zygosity: "LA6705-3"},
	{Centre: "CY01", Number: 1, Given: "Marios", Family: "Kyriakou", Gender: "male", BirthDate: "1998-02-11",
		Enrolled: "2025-06-03", RecordLabel: "AM3-THAL-0457", HP: "cy01-charalambous",
		Registers: []string{enrol}, ResearchContact: false,
		EpisodeStart: "2025-05-12", EpisodeClass: "AMB",
		Reason:    "Rising liver iron concentration on MRI despite combined chelation",
		Diagnoses: []diagnosis{{"ORPHA:231214", "Beta-thalassemia major", "D56.1", "Beta thalassaemia", "confirmed", "1998-09"}},
		Phenotypes: []phenotype{
			{HPO: "HP:0001744", Display: "Splenomegaly", Onset: "2000"},
			{HPO: "HP:0011031", Display: "Abnormality of iron homeostasis", Onset: "2010"},
			{HPO: "HP:0004322", Display: "Short stature"},
		},
		Comorbidities: []comorbidity{{"E83.1", "Disorders of iron metabolism"}, {"E55.9", "Vitamin D deficiency, unspecified"}},
		Medications:   []string{"Deferasirox", "Deferoxamine"},
		Gene:          "HBB", Variant: "NM_000518.5:c.93-21G>A", Zygosity: "LA6705-3"},
	{Centre: "CZ08", Number: 1, Given: "Ondřej", Family: "Kratochvíl", Gender: "male", BirthDate: "2015-10-20",
		Enrolled: "2026-01-12", RecordLabel: "FNB-KOAG-1193", HP: "cz08-sedlackova",
		Registers: []string{enrol, "European Haemophilia Safety Surveillance (EUHASS)"}, ResearchContact: true,
		EpisodeStart: "2025-12-01", EpisodeClass: "AMB",
		Reason:    "High-titre factor VIII inhibitor after 30 exposure days",
		Diagnoses: []diagnosis{{"ORPHA:98878", "Hemophilia A", "D66", "Hereditary factor VIII deficiency", "confirmed", "2016-03"}},
		Phenotypes: []phenotype{
			{HPO: "HP:0005261", Display: "Joint hemorrhage", Onset: "2017"},
			{HPO: "HP:0000978", Display: "Bruising susceptibility", Onset: "2016"},
			{HPO: "HP:0002170", Display: "Intracranial hemorrhage", Excluded: true},
		},
		Medications: []string{"Emicizumab"},
		Gene:        "F8", Variant: "NM_000132.4:c.6046C>T", Zygosity: "LA6707-9"},
	{Centre: "FR08", Number: 1, Given: "Sandrine", Family: "Aubertin", Gender: "female", BirthDate: "1981-05-27",
		Enrolled: "2025-11-04", RecordLabel: "SLS-2025-11-0832", HP: "fr08-garnier",
		Registers: []string{enrol, "International PNH Registry"}, ResearchContact: true,
		EpisodeStart: "2025-10-20", EpisodeEnd: "2025-10-28", EpisodeClass: "IMP",
		Reason: "Breakthrough haemolysis on C5 inhibitor, with a hepatic vein thrombosis",
		Diagnoses: []diagnosis{{"ORPHA:447", "Paroxysmal nocturnal hemoglobinuria", "D59.5",
			"Paroxysmal nocturnal haemoglobinuria [Marchiafava-Micheli]", "confirmed", "2019-02"}},
		Phenotypes: []phenotype{
			{HPO: "HP:0001878", Display: "Hemolytic anemia", Onset: "2019"},
			{HPO: "HP:0004936", Display: "Venous thrombosis", Onset: "2025-10"},
			{HPO: "HP:0025435", Display: "Increased circulating lactate dehydrogenase concentration"},
			{HPO: "HP:0012378", Display: "Fatigue"},
		},
		Medications: []string{"Ravulizumab", "Apixaban"}},
	{Centre: "IT10", Number: 1, Given: "Rosalia", Family: "Ingrassia", Gender: "female", BirthDate: "2021-03-30",
		Enrolled: "2026-02-02", RecordLabel: "PA-EMA-0219", HP: "it10-lo-cascio",
		Registers: []string{enrol}, ResearchContact: false,
		EpisodeStart: "2026-01-08", EpisodeClass: "AMB",
		Reason:    "Transfusion dependence after steroid failure; sibling donor search",
		Diagnoses: []diagnosis{{"ORPHA:124", "Diamond-Blackfan anemia", "D61.0", "Constitutional aplastic anaemia", "confirmed", "2021-06"}},
		Phenotypes: []phenotype{
			{HPO: "HP:0001972", Display: "Macrocytic anemia", Onset: "2021-06"},
			{HPO: "HP:0001199", Display: "Triphalangeal thumb", Onset: "2021-03"},
			{HPO: "HP:0004322", Display: "Short stature"},
		},
		Medications: []string{"Deferasirox"},
		Gene:        "RPS19", Variant: "NM_001022.4:c.185G>A", Zygosity: "LA6706-1"},
	{Centre: "BG07", Number: 1, Given: "Kalina", Family: "Todorova", Gender: "female", BirthDate: "2017-12-08",
		Enrolled: "2026-02-16", RecordLabel: "VAR-PED-3381", HP: "bg07-stoyanov",
		ResearchContact: true,
		EpisodeStart:    "2026-01-26", EpisodeClass: "AMB",
		Reason:    "Progressive pancytopenia with café-au-lait spots and a hypoplastic thumb",
		Diagnoses: []diagnosis{{"ORPHA:84", "Fanconi anemia", "D61.0", "Constitutional aplastic anaemia", "provisional", "2025"}},
		Phenotypes: []phenotype{
			{HPO: "HP:0001876", Display: "Pancytopenia", Onset: "2025-11"},
			{HPO: "HP:0000957", Display: "Cafe-au-lait spot", Onset: "2018"},
			{HPO: "HP:0001172", Display: "Abnormal thumb morphology", Onset: "2017-12"},
			{HPO: "HP:0005528", Display: "Bone marrow hypocellularity", Onset: "2026-01"},
		}},
	{Centre: "FR08", Number: 2, Given: "Yanis", Family: "Belkacem", Gender: "male", BirthDate: "2003-09-14",
		Enrolled: "2026-03-02", RecordLabel: "SLS-2026-03-0114", HP: "fr08-garnier",
		Registers: []string{enrol}, ResearchContact: true,
		EpisodeStart: "2026-02-10", EpisodeClass: "AMB",
		Reason:    "Candidate for gene therapy: eligibility and timing",
		Diagnoses: []diagnosis{{"ORPHA:232", "Sickle cell anemia", "D57.1", "Sickle-cell anaemia without crisis", "confirmed", "2004"}},
		Phenotypes: []phenotype{
			{HPO: "HP:0012532", Display: "Chronic pain", Onset: "2012"},
		}},
}

type member struct {
	Person string
	Role   string // panel role: panel-lead, panel-member, panel-guest, referring-professional
	Status string // participation status: accepted, needs-action, declined, tentative
}

type contribution struct {
	From    string
	Sent    string
	Text    string
	Minutes int // or Hours
	Hours   float64
}

type section struct {
	Code, Title, Text string
}

type panel struct {
	Number      int
	Patient     string // the CPMS ID
	Status      string // cpms-panel-status code
	Area        string
	Urgent      bool
	Authored    string
	Lead        string
	Members     []member
	Question    string
	Nickname    string
	Purposes    []string
	Completed   bool // the consultation form
	Meeting     []string
	Contrib     []contribution
	DataRequest *contribution
	Outcome     string // final or preliminary; empty for none
	OutcomeDate string
	Sections    []section
}

var panels = []panel{
	{Number: 1, Patient: "ERN-BE10-EuroBloodNet-006", Status: "closed", Area: "Haemoglobinopathies",
		Authored: "2025-09-18T10:20:00+02:00", Lead: "it10-lo-cascio",
		Members: []member{{"it10-lo-cascio", "panel-lead", "accepted"}, {"be10-wouters", "referring-professional", "accepted"},
			{"cy01-charalambous", "panel-member", "accepted"}, {"fr08-garnier", "panel-member", "accepted"}},
		Question: "Recurrent acute chest syndrome on hydroxyurea: is haematopoietic stem cell transplantation indicated?",
		Nickname: "Red Kite", Purposes: []string{"treatment"}, Completed: true,
		Meeting: []string{"2025-10-02T16:00:00+02:00", "2025-10-02T17:00:00+02:00"},
		Contrib: []contribution{
			{From: "cy01-charalambous", Sent: "2025-09-25T19:05:00+02:00", Minutes: 40,
				Text: "Two acute chest syndromes on maximal-tolerated hydroxyurea meet the usual criteria for transplantation; HLA typing of both siblings is advised."},
			{From: "fr08-garnier", Sent: "2025-09-29T08:40:00+02:00", Hours: 1.5,
				Text: "If no matched sibling donor is found, consider inclusion in a gene therapy trial rather than haplo-identical transplantation at this age."},
		},
		Outcome: "final", OutcomeDate: "2025-10-09T11:30:00+02:00",
		Sections: []section{
			{"clinical-question", "Clinical question", "Is haematopoietic stem cell transplantation indicated after a second acute chest syndrome on hydroxyurea?"},
			{"discussion", "Discussion", "The panel agreed that hydroxyurea has failed; transplantation from a matched sibling donor offers the best chance of cure."},
			{"recommendations", "Recommendations", "HLA typing of both siblings; if a match is found, refer for myeloablative matched sibling transplantation; otherwise, refer for gene therapy screening."},
		}},
	{Number: 2, Patient: "ERN-CY01-EuroBloodNet-001", Status: "signed-off", Area: "Haemoglobinopathies",
		Authored: "2025-06-05T09:00:00+03:00", Lead: "be10-wouters",
		Members: []member{{"be10-wouters", "panel-lead", "accepted"}, {"cy01-charalambous", "referring-professional", "accepted"},
			{"it10-lo-cascio", "panel-member", "accepted"}},
		Question: "Liver iron rising on deferasirox with deferoxamine: which chelation regimen next?",
		Nickname: "Cedar Island", Purposes: []string{"treatment", "follow-up"}, Completed: true,
		Contrib: []contribution{
			{From: "it10-lo-cascio", Sent: "2025-06-12T21:15:00+02:00", Minutes: 55,
				Text: "Check adherence first (pharmacy records); switch to deferiprone with deferoxamine if cardiac T2* falls below 20 ms."},
		},
		Outcome: "final", OutcomeDate: "2025-06-26T14:00:00+02:00",
		Sections: []section{
			{"clinical-question", "Clinical question", "Which chelation regimen after rising liver iron on deferasirox with deferoxamine?"},
			{"recommendations", "Recommendations", "Adherence review; cardiac and liver MRI in three months; deferiprone with deferoxamine if cardiac T2* is below 20 ms."},
		}},
	{Number: 3, Patient: "ERN-CZ08-EuroBloodNet-001", Status: "in-discussion", Area: "Bleeding and coagulation disorders", Urgent: true,
		Authored: "2026-01-14T08:45:00+01:00", Lead: "fr08-garnier",
		Members: []member{{"fr08-garnier", "panel-lead", "accepted"}, {"cz08-sedlackova", "referring-professional", "accepted"},
			{"guest-lindqvist", "panel-guest", "accepted"}, {"be10-wouters", "panel-member", "tentative"}},
		Question: "High-titre inhibitor in a child with severe haemophilia A on emicizumab: immune tolerance induction, and with which regimen?",
		Nickname: "Copper Lantern", Purposes: []string{"treatment"}, Completed: true,
		Meeting: []string{"2026-02-03T17:00:00+01:00", "2026-02-03T17:45:00+01:00"},
		Contrib: []contribution{
			{From: "guest-lindqvist", Sent: "2026-01-20T10:30:00+01:00", Minutes: 30,
				Text: "Immune tolerance induction on emicizumab prophylaxis is reasonable; a low-dose regimen (50 IU/kg three times a week) keeps the burden acceptable."},
		}},
	{Number: 4, Patient: "ERN-FR08-EuroBloodNet-001", Status: "outcome-in-preparation", Area: "Red cell defects", Urgent: true,
		Authored: "2025-11-05T13:10:00+01:00", Lead: "cz08-sedlackova",
		Members: []member{{"cz08-sedlackova", "panel-lead", "accepted"}, {"fr08-garnier", "referring-professional", "accepted"},
			{"be10-wouters", "panel-member", "accepted"}},
		Question: "Breakthrough haemolysis and hepatic vein thrombosis on ravulizumab: add a proximal complement inhibitor?",
		Nickname: "Silver Fjord", Purposes: []string{"treatment"}, Completed: true,
		Contrib: []contribution{
			{From: "be10-wouters", Sent: "2025-11-12T18:00:00+01:00", Hours: 1,
				Text: "Extravascular haemolysis is likely (C3 deposits on red cells): a factor B or C3 inhibitor fits; keep anticoagulation indefinitely."},
		},
		Outcome: "preliminary", OutcomeDate: "2025-11-20T09:00:00+01:00",
		Sections: []section{
			{"clinical-question", "Clinical question", "How to treat breakthrough haemolysis with a thrombosis on a C5 inhibitor?"},
			{"recommendations", "Recommendations", "Draft: switch to or add a proximal complement inhibitor; lifelong anticoagulation."},
		}},
	{Number: 5, Patient: "ERN-IT10-EuroBloodNet-001", Status: "open", Area: "Bone marrow failure",
		Authored: "2026-02-04T11:00:00+01:00", Lead: "fr08-garnier",
		Members: []member{{"fr08-garnier", "panel-lead", "accepted"}, {"it10-lo-cascio", "referring-professional", "accepted"},
			{"bg07-stoyanov", "panel-member", "needs-action"}, {"cz08-sedlackova", "panel-member", "declined"}},
		Question: "Steroid-refractory Diamond-Blackfan anaemia: transplant from the HLA-identical sibling, who carries no RPS19 variant?",
		Nickname: "Olive Harbour", Purposes: []string{"treatment", "genetic-counselling"}, Completed: true},
	{Number: 6, Patient: "ERN-BG07-EuroBloodNet-001", Status: "additional-data-requested", Area: "Bone marrow failure", Urgent: true,
		Authored: "2026-02-17T09:30:00+02:00", Lead: "fr08-garnier",
		Members: []member{{"fr08-garnier", "panel-lead", "accepted"}, {"bg07-stoyanov", "referring-professional", "accepted"},
			{"it10-lo-cascio", "panel-member", "accepted"}},
		Question: "Suspected Fanconi anaemia with progressive pancytopenia: confirmation and transplant work-up.",
		Nickname: "Amber Compass", Purposes: []string{"diagnosis"}, Completed: true,
		DataRequest: &contribution{From: "fr08-garnier", Sent: "2026-02-20T15:20:00+01:00",
			Text: "Please add the chromosome breakage test (diepoxybutane or mitomycin C) on blood lymphocytes and the last bone marrow aspirate report."}},
	{Number: 7, Patient: "ERN-FR08-EuroBloodNet-002", Status: "created", Area: "Haemoglobinopathies",
		Authored: "2026-03-03T16:45:00+01:00", Lead: "be10-wouters",
		Members:  []member{{"be10-wouters", "panel-lead", "needs-action"}, {"fr08-garnier", "referring-professional", "accepted"}},
		Question: "Gene therapy for sickle cell disease in a young adult: eligibility and timing.",
		Nickname: "Quiet Meadow", Purposes: []string{"treatment"}},
}
