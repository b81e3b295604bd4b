package githubtest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// The emulator is bound to GitHub's OpenAPI description: testdata/api.github.com.json is
// the part of it (from the npm package @octokit/openapi; internal/specgen regenerates it)
// holding exactly the REST operations the emulator serves. Every request a Server gets and
// every response it gives are validated against it with kin-openapi's openapi3filter:
//
//   - a request for an operation the description lacks (or the emulator does not serve),
//     path or query parameters it does not declare or that do not fit their schema, and a
//     body that does not fit the operation's request body (or a body where it takes none);
//   - a response whose status the operation does not document, or whose headers or body
//     do not fit its schema; a body in a success the description gives none. The statuses
//     GitHub documents for every endpoint outside the description (crossCutting) are
//     checked against GitHub's error schemas instead.
//
// The violations fail the test that started the Server when it ends; a test that sends an
// off-spec request on purpose takes them with SpecViolations. GraphQL (POST /graphql) is
// outside the REST description; see graphql.go for how it is bound to GitHub's GraphQL
// schema.

//go:embed testdata/api.github.com.json
var specJSON []byte

// loadSpec parses and validates the description once per process.
var loadSpec = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(specJSON)
	if err != nil {
		return nil, fmt.Errorf("githubtest: testdata/api.github.com.json: %w", err)
	}
	// GitHub's own examples are not all valid (dismissals' "event" example is "\"DISMISS\""),
	// and they are not what the emulator is checked against.
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("githubtest: testdata/api.github.com.json: %w", err)
	}
	return doc, nil
})

// specFormats are the string formats GitHub's description uses, beyond the date and
// date-time kin-openapi checks itself.
var specFormats = openapi3.WithStringFormatValidators(map[string]openapi3.StringFormatValidator{
	"uri": openapi3.NewCallbackValidator(func(s string) error {
		if u, err := url.Parse(s); err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("%q is not an absolute URI", s)
		}
		return nil
	}),
	"email": openapi3.NewCallbackValidator(func(s string) error {
		if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
			return fmt.Errorf("%q is not an email address", s)
		}
		return nil
	}),
})

// schemaMessage says where a value breaks its schema and why, without the schema and value
// dumps kin-openapi prints by default.
func schemaMessage(err *openapi3.SchemaError) string {
	reason := err.Reason
	if err.Origin != nil {
		reason = err.Origin.Error()
	}
	if reason == "" {
		reason = "does not match the schema's " + err.SchemaField
	}
	return fmt.Sprintf("at /%s: %s", strings.Join(err.JSONPointer(), "/"), reason)
}

// crossCutting are the statuses GitHub documents for every endpoint outside the
// description, which lists them for some operations only: 400 for a body that is not JSON
// and 422 for invalid fields ("Resources in the REST API", client errors), 401 for
// authentication, 403 for permissions and rate limits, 404 for what does not exist or
// cannot be seen, 429 for rate limits ("Troubleshooting the REST API", "Rate limits for the
// REST API"). Their bodies must still be GitHub's error schemas.
var crossCutting = map[int]bool{http.StatusBadRequest: true, http.StatusUnauthorized: true,
	http.StatusForbidden: true, http.StatusNotFound: true, http.StatusUnprocessableEntity: true,
	http.StatusTooManyRequests: true}

// SpecViolations returns the violations of GitHub's description found so far and forgets
// them, so that a test that sends an off-spec request on purpose can say which it expects.
// Those left when the test ends fail it.
func (s *Server) SpecViolations() []string {
	s.specMu.Lock()
	defer s.specMu.Unlock()
	out := s.violations
	s.violations = nil
	return out
}

func (s *Server) violate(r *http.Request, format string, args ...any) {
	s.violation(r.Method+" "+r.URL.RequestURI(), format, args...)
}

// violation records what (a request, a webhook) breaking GitHub's description.
func (s *Server) violation(what, format string, args ...any) {
	s.specMu.Lock()
	defer s.specMu.Unlock()
	s.violations = append(s.violations, what+": "+fmt.Sprintf(format, args...))
}

// checkWebhook validates a webhook event's payload against the schema GitHub's description
// gives the event (x-webhooks: webhook-EVENT).
func (s *Server) checkWebhook(event string, body []byte) {
	what := "webhook " + event
	doc, err := loadSpec()
	if err != nil {
		s.violation(what, "%v", err)
		return
	}
	sch := doc.Components.Schemas["webhook-"+event]
	if sch == nil || sch.Value == nil {
		s.violation(what, "GitHub's description (the subset in testdata) has no webhook-%s schema", event)
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		s.violation(what, "the payload is not JSON: %v", err)
		return
	}
	if err := sch.Value.VisitJSON(v, openapi3.MultiErrors(), specFormats,
		openapi3.SetSchemaErrorMessageCustomizer(schemaMessage)); err != nil {
		s.violation(what, "payload: %s", flatten(err))
	}
}

// reportViolations fails the test with the violations nobody took.
func (s *Server) reportViolations(t interface{ Errorf(string, ...any) }) {
	for _, v := range s.SpecViolations() {
		t.Errorf("githubtest: not as GitHub's OpenAPI description says: %s", v)
	}
}

// recorder keeps what a handler writes, for validation.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// checked serves r and validates the exchange against the description.
func (s *Server) checked(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &recorder{ResponseWriter: w}
	s.serve(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	s.checkExchange(r, body, rec)
}

func (s *Server) checkExchange(r *http.Request, reqBody []byte, rec *recorder) {
	doc, err := loadSpec()
	if err != nil {
		s.violate(r, "%v", err)
		return
	}
	rt, params, _ := s.match(r.Method, r.URL.EscapedPath())
	if rt != nil && rt.pattern == "/graphql" {
		return // outside the REST description: graphql.go
	}
	var op *openapi3.Operation
	var item *openapi3.PathItem
	if rt != nil {
		if item = doc.Paths.Value(rt.pattern); item != nil {
			op = item.GetOperation(rt.method)
		}
	}
	if op == nil {
		s.violate(r, "no operation of GitHub's description that the emulator serves (it answered %d)", rec.status)
		return
	}
	in := &openapi3filter.RequestValidationInput{
		Request: r.Clone(r.Context()), PathParams: params, QueryParams: r.URL.Query(),
		Route: &routers.Route{Spec: doc, Path: rt.pattern, PathItem: item, Method: rt.method, Operation: op},
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			MultiError: true, IncludeResponseStatus: true, RejectWhenRequestBodyNotSpecified: true,
			SkipSettingDefaults: true, SchemaValidationOptions: []openapi3.SchemaValidationOption{specFormats}},
	}
	in.Options.WithCustomSchemaErrorFunc(schemaMessage)
	in.Request.Body = io.NopCloser(bytes.NewReader(reqBody))
	if len(reqBody) > 0 && r.Header.Get("Content-Type") == "" {
		// GitHub reads a body as JSON whatever it is labelled ("All data is sent and
		// received as JSON"); go-github labels it. The body is checked all the same.
		in.Request.Header.Set("Content-Type", "application/json")
	}
	reqOK := true
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		s.violate(r, "request: %s", flatten(err))
		reqOK = false
	}
	for _, k := range undeclaredQuery(r.URL.Query(), item, op) {
		s.violate(r, "request: query parameter %q is not a parameter of %s", k, op.OperationID)
		reqOK = false
	}

	status := rec.status
	resp := op.Responses.Status(status)
	if !reqOK && status >= 400 || resp == nil && crossCutting[status] {
		// A refused off-spec request, or a status every endpoint may answer: GitHub's error
		// body.
		if err := errorBody(doc, status, rec); err != nil {
			s.violate(r, "response %d: %v", status, err)
		}
		return
	}
	if resp == nil {
		s.violate(r, "response: status %d is not one %s documents", status, op.OperationID)
		return
	}
	if len(resp.Value.Content) == 0 && rec.body.Len() > 0 && status < 300 {
		s.violate(r, "response %d: a body where %s documents none", status, op.OperationID)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status,
		Header: rec.Header(), Options: in.Options}
	out.SetBodyBytes(rec.body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		s.violate(r, "response %d: %s", status, flatten(err))
	}
}

// errorBody checks that a refusal carries GitHub's error body: validation-error for a 422,
// basic-error otherwise.
func errorBody(doc *openapi3.T, status int, rec *recorder) error {
	name := "basic-error"
	if status == http.StatusUnprocessableEntity {
		name = "validation-error"
	}
	sch := doc.Components.Schemas[name]
	if sch == nil || sch.Value == nil {
		return fmt.Errorf("the description has no %s schema", name)
	}
	var v any
	if err := json.Unmarshal(rec.body.Bytes(), &v); err != nil {
		return fmt.Errorf("the error body is not JSON: %v", err)
	}
	if err := sch.Value.VisitJSON(v, openapi3.MultiErrors(), specFormats,
		openapi3.SetSchemaErrorMessageCustomizer(schemaMessage)); err != nil {
		return fmt.Errorf("the error body is not a %s: %s", name, flatten(err))
	}
	if m, _ := v.(map[string]any); m["message"] == nil {
		return errors.New("the error body has no message")
	}
	return nil
}

// undeclaredQuery lists, sorted, the query parameters op does not declare.
func undeclaredQuery(q url.Values, item *openapi3.PathItem, op *openapi3.Operation) []string {
	declared := map[string]bool{}
	for _, ps := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, p := range ps {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				declared[p.Value.Name] = true
			}
		}
	}
	var out []string
	for k := range q {
		if !declared[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// flatten puts a (multi-)error on one line.
func flatten(err error) string {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		parts := make([]string, len(me))
		for i, e := range me {
			parts[i] = flatten(e)
		}
		return strings.Join(parts, "; ")
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

// GraphQL is outside the REST description. The emulator's GraphQL schema (graphql.go) is
// bound to GitHub's public GraphQL schema instead: testdata/schema.github.graphql.json
// holds the types and fields it serves as GitHub declares them (from the npm package
// @octokit/graphql-schema; internal/specgen regenerates it). Every query is checked against
// the emulator's schema before it runs (an unknown field or argument, or a wrong argument
// type, is GitHub's GraphQL error); TestGraphQLSchemaIsGitHubs checks that schema against
// GitHub's (each field's type, each argument's type, each enum's values); and a field GitHub
// declares non-null that the emulator answers with null is a violation.

//go:embed testdata/schema.github.graphql.json
var gqlSpecJSON []byte

// gqlSpec is testdata/schema.github.graphql.json.
type gqlSpec struct {
	Types map[string]struct {
		Kind   string `json:"kind"`
		Fields map[string]struct {
			Type string            `json:"type"`
			Args map[string]string `json:"args"`
		} `json:"fields"`
		Values []string `json:"values"`
	} `json:"types"`
}

var loadGQLSpec = sync.OnceValues(func() (*gqlSpec, error) {
	var s gqlSpec
	if err := json.Unmarshal(gqlSpecJSON, &s); err != nil {
		return nil, fmt.Errorf("githubtest: testdata/schema.github.graphql.json: %w", err)
	}
	return &s, nil
})

// checkNull records a violation when field of typ, which GitHub declares non-null, was
// answered with null.
func (s *Server) checkNull(r *http.Request, typ, field string) {
	spec, err := loadGQLSpec()
	if err != nil {
		s.violate(r, "%v", err)
		return
	}
	if f, ok := spec.Types[typ].Fields[field]; ok && strings.HasSuffix(f.Type, "!") {
		s.violate(r, "GraphQL: %s.%s is %s in GitHub's schema, and the emulator answered null", typ, field, f.Type)
	}
}
