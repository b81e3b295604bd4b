package graphtest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// The emulator is bound to Microsoft Graph's published description: testdata/graph-v1.0.json
// is the subset of Graph v1.0's OpenAPI description for the operations the entra target
// calls and the emulator serves, generated from the metadata of
// microsoftgraph/msgraph-metadata by internal/specgen (see its documentation to
// regenerate it). Every Graph request the emulator receives and every answer it gives is
// validated against it with kin-openapi's openapi3filter, and a mismatch fails the test
// that started the emulator:
//
//   - a request whose path or method the description lacks; a query option the operation
//     does not declare ($skiptoken is allowed where the operation is pageable, as its
//     @odata.nextLink carries it); parameters, headers and bodies that do not match their
//     schemas (a $select of a property the type lacks, a body of the wrong shape);
//   - an answer whose status the operation does not declare, or whose body does not match
//     the schema of that status;
//   - in bodies either way, an object member the schema does not declare (instance
//     annotations such as @odata.context excepted), each object checked against the type
//     its @odata.type names.
//
// A test that sends a request the description lacks on purpose, to see the emulator refuse
// it as Graph does, marks it with the Unchecked header; its answer is still validated when
// the description has the operation.

//go:generate go run ./internal/specgen -metadata ${GRAPH_METADATA} -commit ${GRAPH_METADATA_COMMIT} -o testdata/graph-v1.0.json

//go:embed testdata/graph-v1.0.json
var specJSON []byte

// Unchecked is the header with which a test sends a deliberately invalid request: the
// request is not validated against Graph's description (its answer still is). roster never
// sends it.
const Unchecked = "X-Graphtest-Unchecked"

// Spec is the loaded description and its paths, split into segments for matching.
type Spec struct {
	Doc    *openapi3.T
	routes []specRoute
}

type specRoute struct {
	path string
	segs []string
	item *openapi3.PathItem
}

var loaded struct {
	once sync.Once
	spec *Spec
	err  error
}

// LoadSpec returns the embedded description, loaded and validated once.
func LoadSpec() (*Spec, error) {
	loaded.once.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(specJSON)
		if err != nil {
			loaded.err = fmt.Errorf("load Graph's OpenAPI description: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			loaded.err = fmt.Errorf("Graph's OpenAPI description is not valid OpenAPI: %w", err)
			return
		}
		s := &Spec{Doc: doc}
		for path, item := range doc.Paths.Map() {
			s.routes = append(s.routes, specRoute{path: path, segs: strings.Split(strings.TrimPrefix(path, "/"), "/"), item: item})
		}
		sort.Slice(s.routes, func(i, j int) bool { return s.routes[i].path < s.routes[j].path })
		loaded.spec = s
	})
	return loaded.spec, loaded.err
}

// Operations lists the described operations as "METHOD /path".
func (s *Spec) Operations() []string {
	var ops []string
	for _, r := range s.routes {
		for method := range r.item.Operations() {
			ops = append(ops, method+" "+r.path)
		}
	}
	sort.Strings(ops)
	return ops
}

// route finds the operation for method on an escaped path below the service root
// ("/users/a%40b.test"): among the paths that match, the one with the fewest
// parameters, as a literal segment (graph.user) wins over a key.
func (s *Spec) route(method, escaped string) (*routers.Route, map[string]string, error) {
	segs := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	var best *specRoute
	var bestParams map[string]string
	pathMatched := ""
	for i := range s.routes {
		r := &s.routes[i]
		if len(r.segs) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for j, seg := range r.segs {
			if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
				v, err := url.PathUnescape(segs[j])
				if err != nil || v == "" {
					ok = false
					break
				}
				params[strings.Trim(seg, "{}")] = v
			} else if seg != segs[j] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		pathMatched = r.path
		if r.item.GetOperation(method) == nil {
			continue
		}
		if best == nil || len(params) < len(bestParams) {
			best, bestParams = r, params
		}
	}
	switch {
	case best != nil:
		return &routers.Route{Spec: s.Doc, Path: best.path, PathItem: best.item, Method: method, Operation: best.item.GetOperation(method)}, bestParams, nil
	case pathMatched != "":
		return nil, nil, fmt.Errorf("Graph's OpenAPI description has no %s operation on %s", method, pathMatched)
	}
	return nil, nil, fmt.Errorf("Graph's OpenAPI description has no path %s", escaped)
}

// CheckRequest validates a request (whose body is given separately; r.Body is not read)
// and returns the route for its answer; rel is its escaped path below the service root.
func (s *Spec) CheckRequest(r *http.Request, rel string, body []byte) (*openapi3filter.RequestValidationInput, []error) {
	route, params, err := s.route(r.Method, rel)
	if err != nil {
		return nil, []error{err}
	}
	in := &openapi3filter.RequestValidationInput{
		Request: r.Clone(r.Context()), PathParams: params, Route: route,
		Options: checkOptions(),
	}
	in.Options.AuthenticationFunc = openapi3filter.NoopAuthenticationFunc
	in.Options.RejectWhenRequestBodyNotSpecified = true
	in.Request.Body = io.NopCloser(bytes.NewReader(body))
	var errs []error
	declared := map[string]bool{}
	for _, ps := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range ps {
			if p.Value.In == openapi3.ParameterInQuery {
				declared[p.Value.Name] = true
			}
		}
	}
	if _, pageable := route.Operation.Extensions["x-ms-pageable"]; pageable {
		declared["$skiptoken"] = true
	}
	for k := range r.URL.Query() {
		if !declared[k] {
			errs = append(errs, fmt.Errorf("query option %s is not a parameter of %s %s", k, r.Method, route.Path))
		}
	}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		errs = append(errs, err)
	}
	if rb := route.Operation.RequestBody; rb != nil && rb.Value != nil && len(body) > 0 {
		if mt := rb.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
			var v any
			if json.Unmarshal(body, &v) == nil {
				errs = append(errs, undeclared(s.Doc, mt.Schema, v, "request body")...)
			}
		}
	}
	return in, errs
}

// CheckResponse validates the answer to a request CheckRequest routed.
func (s *Spec) CheckResponse(in *openapi3filter.RequestValidationInput, status int, header http.Header, body []byte) []error {
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: checkOptions()}
	out.Options.IncludeResponseStatus = true
	out.SetBodyBytes(body)
	var errs []error
	if err := openapi3filter.ValidateResponse(in.Request.Context(), out); err != nil {
		errs = append(errs, err)
	}
	resp := in.Route.Operation.Responses.Status(status)
	if resp == nil || resp.Value == nil || len(body) == 0 {
		return errs
	}
	if mt := resp.Value.Content.Get(header.Get("Content-Type")); mt != nil && mt.Schema != nil {
		var v any
		if json.Unmarshal(body, &v) == nil {
			errs = append(errs, undeclared(s.Doc, mt.Schema, v, fmt.Sprintf("%d answer", status))...)
		}
	}
	return errs
}

// checkOptions are the validation options: every error, each in a line without the
// schema it broke.
func checkOptions() *openapi3filter.Options {
	o := &openapi3filter.Options{MultiError: true}
	o.WithCustomSchemaErrorFunc(schemaError)
	return o
}

func schemaError(err *openapi3.SchemaError) string {
	msg := err.Reason
	if p := err.JSONPointer(); len(p) > 0 {
		msg = "at /" + strings.Join(p, "/") + ": " + msg
	}
	var inner *openapi3.SchemaError
	switch {
	case errors.As(err.Origin, &inner):
		msg += ": " + schemaError(inner)
	case err.Origin != nil:
		msg += ": " + err.Origin.Error()
	}
	return msg
}

// undeclared reports the members of the objects in v that schema does not declare, and
// checks each object typed by @odata.type against that type's schema (kin-openapi takes
// allOf inheritance without a discriminator, and anyOf [type, null object] as any
// object).
func undeclared(doc *openapi3.T, schema *openapi3.SchemaRef, v any, at string) []error {
	var errs []error
	var walk func(sr *openapi3.SchemaRef, v any, at string)
	walk = func(sr *openapi3.SchemaRef, v any, at string) {
		if sr == nil || sr.Value == nil {
			return
		}
		switch v := v.(type) {
		case []any:
			if sr.Value.Items != nil {
				for i, e := range v {
					walk(sr.Value.Items, e, fmt.Sprintf("%s[%d]", at, i))
				}
			}
		case map[string]any:
			typed, props := objectSchema(doc, sr, v)
			if typed != nil && typed != sr {
				if err := typed.Value.VisitJSON(v, openapi3.MultiErrors(), openapi3.SetSchemaErrorMessageCustomizer(schemaError)); err != nil {
					errs = append(errs, fmt.Errorf("%s: as %s: %w", at, typeName(typed), err))
				}
			}
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if strings.Contains(k, "@") {
					continue // an instance or property annotation
				}
				p, ok := props[k]
				if !ok {
					errs = append(errs, fmt.Errorf("%s: member %q is not a property of %s", at, k, typeName(typed)))
					continue
				}
				walk(p, v[k], at+"."+k)
			}
		}
	}
	walk(schema, v, at)
	return errs
}

// objectSchema is the schema an object is: the alternative of an anyOf/oneOf that
// describes objects, then the type its @odata.type names when a discriminator maps it;
// and the properties that schema declares, with those of its allOf parts.
func objectSchema(doc *openapi3.T, sr *openapi3.SchemaRef, v map[string]any) (*openapi3.SchemaRef, map[string]*openapi3.SchemaRef) {
	for _, alts := range []openapi3.SchemaRefs{sr.Value.AnyOf, sr.Value.OneOf} {
		for _, a := range alts {
			if a.Ref != "" || len(a.Value.Properties) > 0 || len(a.Value.AllOf) > 0 {
				sr = a
				break
			}
		}
	}
	if t, ok := v["@odata.type"].(string); ok {
		if d := discriminated(doc, sr, t); d != nil {
			sr = d
		}
	}
	props := map[string]*openapi3.SchemaRef{}
	var collect func(s *openapi3.SchemaRef)
	collect = func(s *openapi3.SchemaRef) {
		if s == nil || s.Value == nil {
			return
		}
		for k, p := range s.Value.Properties {
			props[k] = p
		}
		for _, a := range s.Value.AllOf {
			collect(a)
		}
	}
	collect(sr)
	return sr, props
}

// discriminated finds the schema t (an @odata.type such as #microsoft.graph.user) maps
// to in the discriminator of sr or of its allOf bases.
func discriminated(doc *openapi3.T, sr *openapi3.SchemaRef, t string) *openapi3.SchemaRef {
	if sr == nil || sr.Value == nil {
		return nil
	}
	if d := sr.Value.Discriminator; d != nil {
		if ref, ok := d.Mapping[t]; ok {
			name := strings.TrimPrefix(ref.Ref, "#/components/schemas/")
			if s := doc.Components.Schemas[name]; s != nil {
				return &openapi3.SchemaRef{Ref: ref.Ref, Value: s.Value}
			}
		}
	}
	for _, a := range sr.Value.AllOf {
		if d := discriminated(doc, a, t); d != nil {
			return d
		}
	}
	return nil
}

func typeName(sr *openapi3.SchemaRef) string {
	if sr == nil {
		return "the schema"
	}
	if sr.Ref != "" {
		return strings.TrimPrefix(sr.Ref, "#/components/schemas/")
	}
	if sr.Value != nil && sr.Value.Title != "" {
		return sr.Value.Title
	}
	return "the schema"
}

// recorder keeps an answer so it can be validated before it is sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// validated serves a Graph request through next, checking it and its answer against the
// description; mismatches fail the emulator's test.
func (s *Server) validated(w http.ResponseWriter, r *http.Request, rel string, next http.HandlerFunc) {
	spec, err := LoadSpec()
	if err != nil {
		s.t.Errorf("graphtest: %v", err)
		next(w, r)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	what := r.Method + " " + r.URL.RequestURI()
	in, errs := spec.CheckRequest(r, rel, body)
	unchecked := r.Header.Get(Unchecked) != ""
	if !unchecked {
		for _, err := range errs {
			s.t.Errorf("graphtest: %s: the request does not match Graph's OpenAPI description: %v", what, err)
		}
	}
	rec := &recorder{header: w.Header().Clone()}
	next(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	w.Write(rec.body.Bytes())
	if in == nil {
		return // no operation to check the answer against
	}
	for _, err := range spec.CheckResponse(in, rec.status, rec.header, rec.body.Bytes()) {
		s.t.Errorf("graphtest: %s: the %d answer does not match Graph's OpenAPI description: %v", what, rec.status, err)
	}
}

// routesServed lists the emulator's routes as "METHOD /path" in the description's
// spelling ({id} segments named as the description names them), for the test that the
// emulator serves exactly the described operations.
func routesServed(s *Server) []string {
	var out []string
	for rt, methods := range s.routeTable() {
		for m := range methods {
			out = append(out, m+" "+rt)
		}
	}
	slices.Sort(out)
	return out
}
