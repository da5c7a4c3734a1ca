package questionnaire

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
)

// opsForm is a stored Questionnaire, read through the QuestionnaireLookup,
// whose last item "target" is enabled by the conditions of each case.
const opsForm = `{"resourceType":"Questionnaire","url":"http://example.org/Questionnaire/ops","version":"2","status":"active","item":[
 {"linkId":"n","text":"n","type":"integer"},
 {"linkId":"d","text":"d","type":"decimal"},
 {"linkId":"day","text":"day","type":"date"},
 {"linkId":"s","text":"s","type":"string"},
 {"linkId":"c","text":"c","type":"choice","repeats":true,"answerOption":[
   {"valueCoding":{"system":"http://example.org/x","code":"a"}},{"valueCoding":{"system":"http://example.org/x","code":"b"}}]},
 {"linkId":"b","text":"b","type":"boolean"},
 {"linkId":"n2","text":"n2","type":"integer","enableWhen":[{"question":"b","operator":"=","answerBoolean":true}]},
 {"linkId":"target","text":"target","type":"string","enableWhen":%s%s}
]}`

func TestEnableWhenOperators(t *testing.T) {
	cases := []struct {
		when     string // the enableWhen array of target
		behavior string
		answers  string // items of the response before target
		enabled  bool
	}{
		{`[{"question":"n","operator":"exists","answerBoolean":true}]`, "", `{"linkId":"n","answer":[{"valueInteger":1}]}`, true},
		{`[{"question":"n","operator":"exists","answerBoolean":true}]`, "", ``, false},
		{`[{"question":"n","operator":"exists","answerBoolean":false}]`, "", ``, true},
		{`[{"question":"n","operator":"exists","answerBoolean":false}]`, "", `{"linkId":"n","answer":[{"valueInteger":1}]}`, false},
		{`[{"question":"n","operator":">","answerInteger":5}]`, "", `{"linkId":"n","answer":[{"valueInteger":7}]}`, true},
		{`[{"question":"n","operator":">","answerInteger":5}]`, "", `{"linkId":"n","answer":[{"valueInteger":5}]}`, false},
		{`[{"question":"n","operator":">=","answerInteger":5}]`, "", `{"linkId":"n","answer":[{"valueInteger":5}]}`, true},
		{`[{"question":"n","operator":"<","answerInteger":5}]`, "", `{"linkId":"n","answer":[{"valueInteger":4}]}`, true},
		{`[{"question":"n","operator":"<=","answerInteger":5}]`, "", `{"linkId":"n","answer":[{"valueInteger":6}]}`, false},
		{`[{"question":"n","operator":"<","answerInteger":5}]`, "", ``, false},
		{`[{"question":"n","operator":"=","answerDecimal":3.0}]`, "", `{"linkId":"n","answer":[{"valueInteger":3}]}`, true},
		{`[{"question":"d","operator":"=","answerDecimal":1.5}]`, "", `{"linkId":"d","answer":[{"valueDecimal":1.50}]}`, true},
		{`[{"question":"d","operator":">","answerDecimal":1.5}]`, "", `{"linkId":"d","answer":[{"valueDecimal":1.50}]}`, false},
		{`[{"question":"day","operator":">","answerDate":"2020"}]`, "", `{"linkId":"day","answer":[{"valueDate":"2021-03"}]}`, true},
		{`[{"question":"day","operator":">","answerDate":"2020-06"}]`, "", `{"linkId":"day","answer":[{"valueDate":"2020"}]}`, false},
		{`[{"question":"day","operator":"<","answerDate":"2020-06-15"}]`, "", `{"linkId":"day","answer":[{"valueDate":"2019"}]}`, true},
		{`[{"question":"day","operator":"=","answerDate":"2020-01-01"}]`, "", `{"linkId":"day","answer":[{"valueDate":"2020-01-01"}]}`, true},
		{`[{"question":"s","operator":"=","answerString":"abc"}]`, "", `{"linkId":"s","answer":[{"valueString":"abc"}]}`, true},
		{`[{"question":"s","operator":"!=","answerString":"abc"}]`, "", `{"linkId":"s","answer":[{"valueString":"abd"}]}`, true},
		{`[{"question":"s","operator":"!=","answerString":"abc"}]`, "", ``, true},
		{`[{"question":"s","operator":"!=","answerString":"abc"}]`, "", `{"linkId":"s","answer":[{"valueString":"abc"}]}`, false},
		{`[{"question":"c","operator":"=","answerCoding":{"system":"http://example.org/x","code":"b"}}]`, "",
			`{"linkId":"c","answer":[{"valueCoding":{"system":"http://example.org/x","code":"a"}},{"valueCoding":{"system":"http://example.org/x","code":"b"}}]}`, true},
		{`[{"question":"c","operator":"!=","answerCoding":{"system":"http://example.org/x","code":"b"}}]`, "",
			`{"linkId":"c","answer":[{"valueCoding":{"system":"http://example.org/x","code":"a"}},{"valueCoding":{"system":"http://example.org/x","code":"b"}}]}`, false},
		{`[{"question":"c","operator":"=","answerCoding":{"system":"http://example.org/y","code":"b"}}]`, "",
			`{"linkId":"c","answer":[{"valueCoding":{"system":"http://example.org/x","code":"b"}}]}`, false},
		{`[{"question":"b","operator":"=","answerBoolean":true}]`, "", `{"linkId":"b","answer":[{"valueBoolean":false}]}`, false},
		{`[{"question":"n","operator":">","answerInteger":10},{"question":"b","operator":"=","answerBoolean":true}]`, "any",
			`{"linkId":"n","answer":[{"valueInteger":1}]},{"linkId":"b","answer":[{"valueBoolean":true}]}`, true},
		{`[{"question":"n","operator":">","answerInteger":10},{"question":"b","operator":"=","answerBoolean":true}]`, "all",
			`{"linkId":"n","answer":[{"valueInteger":1}]},{"linkId":"b","answer":[{"valueBoolean":true}]}`, false},
		{`[{"question":"n","operator":"<","answerInteger":10},{"question":"b","operator":"=","answerBoolean":true}]`, "all",
			`{"linkId":"n","answer":[{"valueInteger":1}]},{"linkId":"b","answer":[{"valueBoolean":true}]}`, true},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("%d %s %s", i, tc.when, tc.answers), func(t *testing.T) {
			behavior := ""
			if tc.behavior != "" {
				behavior = `,"enableBehavior":"` + tc.behavior + `"`
			}
			form := fmt.Sprintf(opsForm, tc.when, behavior)
			items := tc.answers
			if items != "" {
				items += ","
			}
			items += `{"linkId":"target","answer":[{"valueString":"x"}]}`
			body := `{"resourceType":"QuestionnaireResponse","questionnaire":"http://example.org/Questionnaire/ops|2","status":"completed","item":[` + items + `]}`
			issues := checkWithForm(t, form, body)
			var wants []want
			if !tc.enabled {
				wants = []want{{fhir.SeverityError, "", `"target" is disabled`}}
			}
			expectIssues(t, issues, wants)
		})
	}
}

// TestEnableWhenDisabledSource checks that the answers of a disabled item
// do not enable others.
func TestEnableWhenDisabledSource(t *testing.T) {
	form := fmt.Sprintf(opsForm, `[{"question":"n2","operator":"exists","answerBoolean":true}]`, "")
	body := `{"resourceType":"QuestionnaireResponse","questionnaire":"http://example.org/Questionnaire/ops","status":"in-progress","item":[
	  {"linkId":"b","answer":[{"valueBoolean":false}]},{"linkId":"n2","answer":[{"valueInteger":2}]},{"linkId":"target","answer":[{"valueString":"x"}]}]}`
	expectIssues(t, checkWithForm(t, form, body), []want{
		{fhir.SeverityError, "QuestionnaireResponse.item[1]", `"n2" is disabled`},
		{fhir.SeverityError, "QuestionnaireResponse.item[2]", `"target" is disabled`},
	})
}

// checkWithForm checks a response against a stored Questionnaire served by
// the QuestionnaireLookup.
func checkWithForm(t *testing.T, form, body string) []fhir.Issue {
	t.Helper()
	if !json.Valid([]byte(form)) || !json.Valid([]byte(body)) {
		t.Fatalf("invalid JSON in the test:\n%s\n%s", form, body)
	}
	c, err := New(Options{Questionnaire: func(ctx context.Context, canonical string) ([]byte, bool, error) {
		if strings.HasPrefix(canonical, "http://example.org/Questionnaire/ops") {
			return []byte(form), true, nil
		}
		return nil, false, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c.Check(context.Background(), "QuestionnaireResponse", []byte(body), nil)
}
