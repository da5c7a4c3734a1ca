package validate

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	jsoniter "github.com/json-iterator/go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	apb "github.com/google/fhir/go/proto/google/fhir/proto/annotations_go_proto"
	d4pb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/datatypes_go_proto"
	rpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/bundle_and_contained_resource_go_proto"
)

// The proof is a single pass over a resource's JSON that shows it valid
// by the rules google/fhir/go's validating unmarshaller applies, read from
// the same protocol buffer descriptors and annotations: the elements each
// type has, their cardinality, the required ones, the codes of required
// bindings, the formats of primitives, the types a reference may point to.
// It builds no protocol buffer, which is where the unmarshaller spends
// its time.
//
// The proof only ever answers "valid" or "not proven". It is stricter
// than the unmarshaller: it knows elements only by their exact JSON names,
// refuses JSON forms it does not need for valid FHIR (nulls, empty arrays
// and objects, repeated keys, a primitive's extensions without its value,
// numbers and dates outside their plain forms, references it cannot
// type), and checks contained resources fully. Whatever it does not prove
// goes to the unmarshaller, which decides and reports the issues; so the
// answer for any resource is the unmarshaller's. TestProofAgrees checks
// that on the R4 examples, on Synthea's resources and on mutations of
// them: no resource the unmarshaller refuses is proven.

// maxProofDepth bounds the nesting of objects the proof follows; deeper
// resources go to the unmarshaller, which has its own limit (maxNesting,
// counted in elements along the path, of which an object adds at least one
// and a contained resource two).
const maxProofDepth = 48

type primitive uint8

const (
	notPrimitive primitive = iota
	pBase64Binary
	pBoolean
	pCanonical
	pCode  // a code without a required binding: the Code regex
	pCoded // a code with a required binding: one of its value set's codes
	pDate
	pDateTime
	pDecimal
	pID
	pInstant
	pInteger
	pMarkdown
	pOid
	pPositiveInt
	pString
	pTime
	pUnsignedInt
	pURI
	pURL
	pUUID
	pXhtml
)

var primitiveNames = map[protoreflect.Name]primitive{
	"Base64Binary": pBase64Binary, "Boolean": pBoolean, "Canonical": pCanonical,
	"Code": pCode, "Date": pDate, "DateTime": pDateTime, "Decimal": pDecimal,
	"Id": pID, "Instant": pInstant, "Integer": pInteger, "Markdown": pMarkdown,
	"Oid": pOid, "PositiveInt": pPositiveInt, "String": pString, "Time": pTime,
	"UnsignedInt": pUnsignedInt, "Uri": pURI, "Url": pURL, "Uuid": pUUID,
	"Xhtml": pXhtml,
}

type fieldKind uint8

const (
	kindPrimitive fieldKind = iota
	kindMessage
	kindResource // ContainedResource, or the Any of "contained"
)

// msgSchema is what the proof needs of one message type.
type msgSchema struct {
	fields    map[string]*fieldSchema // by JSON key, choices expanded, "_x" for primitives
	slots     int                     // distinct elements; a choice's options share one
	required  []int                   // slots FHIR requires
	reference bool                    // a Reference: its "reference" is typed as the unmarshaller does
}

// fieldSchema is one JSON key of a message.
type fieldSchema struct {
	slot     int
	option   int // 1 + the option's index in a choice, 0 otherwise
	repeated bool
	under    bool // the "_x" key: the id and extensions of primitive x
	kind     fieldKind
	prim     primitive
	codes    map[string]bool // pCoded: the codes the unmarshaller accepts
	md       protoreflect.MessageDescriptor
	sub      atomic.Pointer[msgSchema]
	refTypes []string // a Reference's allowed target types; empty: any
}

// prover holds the schemas, built the first time each type is met.
type prover struct {
	mu        sync.Mutex
	schemas   sync.Map // protoreflect.FullName → *msgSchema
	resources map[string]protoreflect.MessageDescriptor
	refTypes  map[string]bool // the resource types a reference string is typed by
	regex     map[primitive]*regexp.Regexp
}

func newProver() *prover {
	p := &prover{
		resources: map[string]protoreflect.MessageDescriptor{},
		refTypes:  map[string]bool{},
		regex:     map[primitive]*regexp.Regexp{},
	}
	oneof := (&rpb.ContainedResource{}).ProtoReflect().Descriptor().Oneofs().ByName("oneof_resource")
	for i := 0; i < oneof.Fields().Len(); i++ {
		md := oneof.Fields().Get(i).Message()
		p.resources[string(md.Name())] = md
	}
	ref := (&d4pb.Reference{}).ProtoReflect().Descriptor().Oneofs().ByName("reference")
	for i := 0; i < ref.Fields().Len(); i++ {
		f := ref.Fields().Get(i)
		if t, _ := proto.GetExtension(f.Options(), apb.E_ReferencedFhirType).(string); t != "" {
			p.refTypes[t] = true
		}
	}
	// The formats the unmarshaller checks with the types' own regexes.
	for prim, m := range map[primitive]proto.Message{
		pDecimal: &d4pb.Decimal{}, pOid: &d4pb.Oid{}, pID: &d4pb.Id{},
		pUUID: &d4pb.Uuid{}, pCode: &d4pb.Code{},
	} {
		re, _ := proto.GetExtension(m.ProtoReflect().Descriptor().Options(), apb.E_ValueRegex).(string)
		if re == "" {
			panic("validate: no value regex for " + m.ProtoReflect().Descriptor().FullName())
		}
		p.regex[prim] = regexp.MustCompile("^" + re + "$")
	}
	return p
}

func (p *prover) schema(md protoreflect.MessageDescriptor) *msgSchema {
	if s, ok := p.schemas.Load(md.FullName()); ok {
		return s.(*msgSchema)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.schemas.Load(md.FullName()); ok {
		return s.(*msgSchema)
	}
	s := p.build(md)
	p.schemas.Store(md.FullName(), s)
	return s
}

func (p *prover) sub(f *fieldSchema) *msgSchema {
	if s := f.sub.Load(); s != nil {
		return s
	}
	s := p.schema(f.md)
	f.sub.Store(s)
	return s
}

func isPrimitive(md protoreflect.MessageDescriptor) bool {
	k, _ := proto.GetExtension(md.Options(), apb.E_StructureDefinitionKind).(apb.StructureDefinitionKindValue)
	return k == apb.StructureDefinitionKindValue_KIND_PRIMITIVE_TYPE
}

func isChoice(md protoreflect.MessageDescriptor) bool {
	c, _ := proto.GetExtension(md.Options(), apb.E_IsChoiceType).(bool)
	return c
}

func (p *prover) build(md protoreflect.MessageDescriptor) *msgSchema {
	s := &msgSchema{
		fields:    map[string]*fieldSchema{},
		reference: proto.HasExtension(md.Options(), apb.E_FhirReferenceType),
	}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		if f.Message() == nil {
			continue // a primitive's own value: not a JSON key of valid FHIR
		}
		if s.reference && f.ContainingOneof() != nil && f.Name() != "uri" {
			continue // typed ids and fragments are made from "reference"
		}
		slot := s.slots
		s.slots++
		if r, _ := proto.GetExtension(f.Options(), apb.E_ValidationRequirement).(apb.Requirement); r == apb.Requirement_REQUIRED_BY_FHIR {
			s.required = append(s.required, slot)
		}
		if isChoice(f.Message()) {
			opts := f.Message().Fields()
			for j := 0; j < opts.Len(); j++ {
				o := opts.Get(j)
				name := f.JSONName() + upperFirst(o.JSONName())
				p.add(s, name, p.field(o, slot, j+1, false))
			}
			continue
		}
		p.add(s, f.JSONName(), p.field(f, slot, 0, f.IsList()))
	}
	return s
}

// add adds the key of a field, and "_key" if it is a primitive.
func (p *prover) add(s *msgSchema, name string, f *fieldSchema) {
	s.fields[name] = f
	if f.kind == kindPrimitive {
		u := &fieldSchema{slot: f.slot, option: f.option, repeated: f.repeated, under: true, kind: kindMessage, md: f.md}
		s.fields["_"+name] = u
	}
}

func (p *prover) field(f protoreflect.FieldDescriptor, slot, option int, repeated bool) *fieldSchema {
	md := f.Message()
	fs := &fieldSchema{slot: slot, option: option, repeated: repeated, md: md}
	switch {
	case md.FullName() == "google.protobuf.Any" && f.JSONName() == "contained",
		md.FullName() == (&rpb.ContainedResource{}).ProtoReflect().Descriptor().FullName():
		fs.kind = kindResource
	case isPrimitive(md):
		fs.kind = kindPrimitive
		fs.prim = primitiveNames[md.Name()]
		if fs.prim == notPrimitive {
			if url, _ := proto.GetExtension(md.Options(), apb.E_FhirValuesetUrl).(string); url != "" {
				fs.prim, fs.codes = p.coded(md)
			}
		}
	case md.FullName() == "google.protobuf.Any":
		fs.kind = kindResource
		fs.prim = notPrimitive
		fs.md = nil // an Any that is not "contained": never proven
	default:
		fs.kind = kindMessage
	}
	if types, _ := proto.GetExtension(f.Options(), apb.E_ValidReferenceType).([]string); len(types) > 0 {
		fs.refTypes = types
		for _, t := range types {
			if t == "Resource" {
				fs.refTypes = nil
			}
		}
	}
	return fs
}

// coded returns the codes of a bound code type that the unmarshaller
// accepts: each value's name in lower case with '-' for '_', and its
// original code, each kept only if the unmarshaller's own lookup finds a
// value for it.
func (p *prover) coded(md protoreflect.MessageDescriptor) (primitive, map[string]bool) {
	v := md.Fields().ByName("value")
	if v == nil {
		return notPrimitive, nil
	}
	if v.Kind() == protoreflect.StringKind {
		return pCode, nil
	}
	if v.Kind() != protoreflect.EnumKind {
		return notPrimitive, nil
	}
	values := v.Enum().Values()
	found := func(code string) bool {
		name := strings.ReplaceAll(strings.ToUpper(code), "-", "_")
		if ev := values.ByName(protoreflect.Name(name)); ev != nil && ev.Number() != 0 {
			return true
		}
		for i := 0; i < values.Len(); i++ {
			if orig, _ := proto.GetExtension(values.Get(i).Options(), apb.E_FhirOriginalCode).(string); orig == code {
				return true
			}
		}
		return false
	}
	codes := map[string]bool{}
	for i := 0; i < values.Len(); i++ {
		ev := values.Get(i)
		if ev.Number() == 0 {
			continue
		}
		for _, c := range []string{
			strings.ReplaceAll(strings.ToLower(string(ev.Name())), "_", "-"),
			proto.GetExtension(ev.Options(), apb.E_FhirOriginalCode).(string),
		} {
			if c != "" && found(c) {
				codes[c] = true
			}
		}
	}
	return pCoded, codes
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// proven reports whether body, the JSON of one resource, is valid.
func (p *prover) proven(body []byte) bool {
	if !utf8.Valid(body) || !json.Valid(body) {
		return false // the unmarshaller checks the raw bytes of strings
	}
	return p.resource(body, 0)
}

// resource proves the object raw a resource of the type it names.
func (p *prover) resource(raw []byte, depth int) bool {
	rt, ok := resourceTypeOf(raw)
	if !ok {
		return false
	}
	md := p.resources[rt]
	if md == nil {
		return false
	}
	it := jsoniter.ConfigDefault.BorrowIterator(raw)
	defer jsoniter.ConfigDefault.ReturnIterator(it)
	w := walker{p: p, it: it}
	return w.object(p.schema(md), nil, rt, depth) && it.Error == nil
}

// resourceTypeOf returns the "resourceType" of the object raw.
func resourceTypeOf(raw []byte) (string, bool) {
	it := jsoniter.ConfigDefault.BorrowIterator(raw)
	defer jsoniter.ConfigDefault.ReturnIterator(it)
	if it.WhatIsNext() != jsoniter.ObjectValue {
		return "", false
	}
	rt, found := "", false
	it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
		if key != "resourceType" {
			it.Skip()
			return true
		}
		if it.WhatIsNext() == jsoniter.StringValue {
			rt, found = it.ReadString(), true
		}
		return false
	})
	return rt, found && it.Error == nil
}

type walker struct {
	p  *prover
	it *jsoniter.Iterator
}

// slotSet is a set of a message's slots.
type slotSet struct {
	small [2]uint64
	large map[int]bool
}

func (s *slotSet) has(i int) bool {
	if i < 128 {
		return s.small[i/64]&(1<<(i%64)) != 0
	}
	return s.large[i]
}

func (s *slotSet) add(i int) {
	if i < 128 {
		s.small[i/64] |= 1 << (i % 64)
		return
	}
	if s.large == nil {
		s.large = map[int]bool{}
	}
	s.large[i] = true
}

// object proves the next value an object of schema s. refTypes are the
// types a Reference may point to; rt is the resource type of a resource.
func (w *walker) object(s *msgSchema, refTypes []string, rt string, depth int) bool {
	it := w.it
	if depth > maxProofDepth || it.WhatIsNext() != jsoniter.ObjectValue {
		return false
	}
	var keys []string // to refuse a key given twice
	var values, unders slotSet
	var options map[int]int // a choice's slot → its option
	empty, ok := true, true
	it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
		empty = false
		for _, k := range keys {
			if k == key {
				ok = false
				return false
			}
		}
		keys = append(keys, key)
		if rt != "" && key == "resourceType" {
			ok = it.WhatIsNext() == jsoniter.StringValue && it.ReadString() == rt
			return ok
		}
		f := s.fields[key]
		if f == nil {
			ok = false
			return false
		}
		if f.option != 0 {
			if o, set := options[f.slot]; set && o != f.option {
				ok = false
				return false
			}
			if options == nil {
				options = map[int]int{}
			}
			options[f.slot] = f.option
		}
		switch {
		case f.under:
			unders.add(f.slot)
			ok = !f.repeated && w.object(w.p.sub(f), nil, "", depth+1)
		case s.reference && key == "reference":
			values.add(f.slot)
			ok = w.reference(refTypes)
		default:
			values.add(f.slot)
			ok = w.value(f, depth)
		}
		return ok
	})
	if !ok || empty || it.Error != nil {
		return false
	}
	for i := 0; i < s.slots; i++ {
		if unders.has(i) && !values.has(i) {
			return false // a primitive with extensions and no value
		}
	}
	for _, r := range s.required {
		if !values.has(r) {
			return false
		}
	}
	return true
}

// value proves the next value one of field f, or an array of them.
func (w *walker) value(f *fieldSchema, depth int) bool {
	it := w.it
	if !f.repeated {
		return w.single(f, depth)
	}
	if it.WhatIsNext() != jsoniter.ArrayValue {
		return false
	}
	n, ok := 0, true
	it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
		n++
		ok = w.single(f, depth)
		return ok
	})
	return ok && n > 0 && it.Error == nil
}

func (w *walker) single(f *fieldSchema, depth int) bool {
	switch f.kind {
	case kindPrimitive:
		return w.primitive(f)
	case kindResource:
		if f.md == nil || w.it.WhatIsNext() != jsoniter.ObjectValue {
			return false
		}
		return w.p.resource(w.it.SkipAndReturnBytes(), depth+2)
	default:
		return w.object(w.p.sub(f), f.refTypes, "", depth+1)
	}
}

// reference proves the next value a Reference.reference that the
// unmarshaller types as it does (reference.go's normalizeR4Reference):
// "Type/id" or "Type/id/_history/version", where Type is a resource type
// a reference can be typed by, must be one of refTypes; anything else
// stays a string.
func (w *walker) reference(refTypes []string) bool {
	it := w.it
	if it.WhatIsNext() != jsoniter.StringValue {
		return false
	}
	s := it.ReadString()
	if !validString(s) || s == "" {
		return false
	}
	if strings.HasPrefix(s, "#") {
		return true
	}
	parts := strings.Split(s, "/")
	if !(len(parts) == 2 || len(parts) == 4 && parts[2] == "_history") {
		return true
	}
	t := parts[0]
	if !w.p.refTypes[t] {
		return true
	}
	if len(parts) == 4 && !w.p.regex[pID].MatchString(parts[3]) {
		return false
	}
	if len(refTypes) == 0 {
		return true
	}
	for _, want := range refTypes {
		if want == t {
			return true
		}
	}
	return false
}

// invalidStringChar is what jsonpbhelper.ValidateString refuses in a string.
func invalidStringChar(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return true
		}
	}
	return false
}

func validString(s string) bool {
	return len(s) <= 1<<20 && utf8.ValidString(s) && !invalidStringChar(s)
}

var (
	// The formats of date_time.go and fhirutil.go in google/fhir/go.
	dateRegex     = regexp.MustCompile(`^-?[0-9]{4}(-(0[1-9]|1[0-2])(-(0[0-9]|[1-2][0-9]|3[0-1]))?)?$`)
	dateTimeRegex = regexp.MustCompile(`^-?[0-9]{4}(-(0[1-9]|1[0-2])(-(0[0-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$`)
	timeRegex     = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?$`)
	instantRegex  = regexp.MustCompile(`^-?[0-9]{4}-(0[1-9]|1[0-2])-(0[0-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$`)
	base64Chars   = regexp.MustCompile(`^[A-Za-z0-9+/=]+$`)
)

// parses reports whether one of layouts parses s, in UTC.
func parses(s string, layouts ...string) bool {
	for _, l := range layouts {
		if _, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return true
		}
	}
	return false
}

// primitive proves the next value a valid value of primitive f.
func (w *walker) primitive(f *fieldSchema) bool {
	it := w.it
	next := it.WhatIsNext()
	switch f.prim {
	case pBoolean:
		if next != jsoniter.BoolValue {
			return false
		}
		it.ReadBool()
		return true
	case pInteger, pPositiveInt, pUnsignedInt, pDecimal:
		if next != jsoniter.NumberValue {
			return false
		}
		return w.number(f.prim, string(it.ReadNumber()))
	case notPrimitive:
		return false
	}
	if next != jsoniter.StringValue {
		return false
	}
	if f.prim == pBase64Binary {
		// The unmarshaller decodes the bytes between the quotes as they
		// are, with no JSON escapes.
		raw := it.SkipAndReturnBytes()
		if it.Error != nil || len(raw) < 3 || !base64Chars.Match(raw[1:len(raw)-1]) {
			return false
		}
		_, err := base64.StdEncoding.DecodeString(string(raw[1 : len(raw)-1]))
		return err == nil
	}
	s := it.ReadString()
	if it.Error != nil || s == "" || !utf8.ValidString(s) {
		return false
	}
	switch f.prim {
	case pString:
		return validString(s)
	case pMarkdown, pXhtml:
		return true
	case pCode, pID, pOid, pUUID:
		return w.p.regex[f.prim].MatchString(s)
	case pCoded:
		return f.codes[s] && w.p.regex[pCode].MatchString(s)
	case pURI, pURL, pCanonical:
		_, err := url.Parse(s)
		return err == nil
	case pDate:
		return s[0] != '-' && dateRegex.MatchString(s) && parses(s, "2006-01-02", "2006-01", "2006")
	case pDateTime:
		return s[0] != '-' && dateTimeRegex.MatchString(s) &&
			parses(s, "2006-01-02T15:04:05Z07:00", "2006-01-02", "2006-01", "2006")
	case pInstant:
		return s[0] != '-' && instantRegex.MatchString(s) && parses(s, "2006-01-02T15:04:05Z07:00")
	case pTime:
		return timeRegex.MatchString(s) && parses(s, "15:04:05")
	}
	return false
}

// number proves n, the text of a JSON number, a valid value of prim.
func (w *walker) number(prim primitive, n string) bool {
	if w.it.Error != nil {
		return false
	}
	if prim == pDecimal {
		return w.p.regex[pDecimal].MatchString(n) && !strings.ContainsAny(n, "eE")
	}
	digits := n
	if prim == pInteger && strings.HasPrefix(n, "-") {
		digits = n[1:]
	}
	if digits == "" || len(digits) > 10 || digits[0] == '0' && (len(digits) > 1 || n[0] == '-') {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	v, err := strconv.ParseInt(n, 10, 64)
	if err != nil || v > math.MaxInt32 || v <= math.MinInt32 {
		return false
	}
	switch prim {
	case pPositiveInt:
		return v >= 1
	case pUnsignedInt:
		return v >= 0
	}
	return true
}
