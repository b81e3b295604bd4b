// Command specgen writes the subset of Microsoft Graph v1.0's OpenAPI description that
// the entra target calls and its emulator (graphtest) serves, from what
// microsoftgraph/msgraph-metadata publishes: its OpenAPI description, or the CSDL
// metadata that description is converted from:
//
//	git clone https://github.com/microsoftgraph/msgraph-metadata
//	go run ./targets/testing/graphtest/internal/specgen \
//		-openapi msgraph-metadata/openapi/v1.0/openapi.yaml \
//		-commit "$(git -C msgraph-metadata rev-parse HEAD)"
//
// or -metadata msgraph-metadata/clean_v10_metadata/cleanMetadata.xml in place of -openapi.
//
// With -openapi (Extract), the listed operations are kept with the components they
// reference, navigation properties left out of the schemas. With -metadata (Generate),
// specgen converts the metadata itself, as Microsoft's OpenAPI.NET.OData makes
// openapi.yaml from it with the settings in conversion-settings/openapi.json, for the
// listed operations only; the subset in testdata was made so, openapi.yaml (tens of
// megabytes) being out of reach where it was first made. The conversion follows those
// settings' conventions: key segments {type-id} declared on the path item, type
// casts with the alias (graph.group), $ref paths for references, 2XX/4XX/5XX response
// ranges, collection responses with @odata.nextLink and x-ms-pageable, $select,
// $orderby and $expand enumerating the type's properties, capability annotations
// (SkipSupported, InsertRestrictions …) deciding what an operation offers. An operation
// whose path the metadata does not have, or that its annotations forbid, stops the
// generation: the subset only ever describes what Graph's metadata says exists.
//
// Each schema is the metadata's type: allOf its base type and its own structural
// properties, nullable as declared, with @odata.type; navigation properties, which Graph
// returns only under $expand (never sent by roster), are left out of the schemas (their
// names stay in $select and $expand). The types are those the operations' parameters,
// bodies and answers reference, and those their properties reference in turn; a
// discriminator maps @odata.type values to the derived types among them.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
)

// operation is a method on a path, the path in the description's spelling.
type operation struct{ method, path string }

// operations are what the subset describes: every request the entra target makes, and
// every route the emulator serves (graphtest checks both lists agree).
var operations = []operation{
	{"GET", "/users"},
	{"POST", "/users"},
	{"GET", "/users/{user-id}"},
	{"PATCH", "/users/{user-id}"},
	{"DELETE", "/users/{user-id}"},
	{"POST", "/users/{user-id}/assignLicense"},
	{"POST", "/users/{user-id}/revokeSignInSessions"},
	{"GET", "/users/{user-id}/memberOf/graph.group"},
	{"GET", "/groups"},
	{"GET", "/groups/{group-id}"},
	{"GET", "/groups/{group-id}/members"},
	{"GET", "/groups/{group-id}/members/graph.user"},
	{"GET", "/groups/{group-id}/members/graph.group"},
	{"POST", "/groups/{group-id}/members/$ref"},
	{"DELETE", "/groups/{group-id}/members/{directoryObject-id}/$ref"},
	{"GET", "/groups/{group-id}/transitiveMembers"},
	{"GET", "/groups/{group-id}/transitiveMembers/graph.user"},
	{"GET", "/groups/{group-id}/transitiveMembers/graph.group"},
	{"GET", "/subscribedSkus"},
	{"GET", "/directory/deletedItems/graph.user"},
	{"DELETE", "/directory/deletedItems/{directoryObject-id}"},
	{"POST", "/directory/deletedItems/{directoryObject-id}/restore"},
}

func main() {
	metadata := flag.String("metadata", "", "Graph v1.0 CSDL metadata: clean_v10_metadata/cleanMetadata.xml of microsoftgraph/msgraph-metadata")
	published := flag.String("openapi", "", "or Graph v1.0's OpenAPI description: openapi/v1.0/openapi.yaml of microsoftgraph/msgraph-metadata")
	commit := flag.String("commit", "", "the msgraph-metadata commit the file is from, recorded in the output")
	out := flag.String("o", "targets/testing/graphtest/testdata/graph-v1.0.json", "where to write the subset")
	flag.Parse()
	if (*metadata == "") == (*published == "") {
		fmt.Fprintln(os.Stderr, "specgen: give one of -metadata and -openapi (see the package documentation)")
		os.Exit(2)
	}
	if err := run(*metadata, *published, *commit, *out); err != nil {
		fmt.Fprintln(os.Stderr, "specgen:", err)
		os.Exit(1)
	}
}

func run(metadata, published, commit, out string) error {
	path, file := metadata, "clean_v10_metadata/cleanMetadata.xml"
	if published != "" {
		path, file = published, "openapi/v1.0/openapi.yaml"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	src := map[string]any{
		"repository": "https://github.com/microsoftgraph/msgraph-metadata",
		"file":       file,
		"sha256":     hex.EncodeToString(sum[:]),
	}
	if commit != "" {
		src["commit"] = commit
	}
	var doc map[string]any
	if published != "" {
		var desc map[string]any
		if desc, err = loadOpenAPI(path); err == nil {
			doc, err = Extract(desc, operations, src)
		}
	} else {
		doc, err = Generate(bytes.NewReader(data), operations, src)
	}
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, append(b, '\n'), 0o644)
}

// node is an XML element of the metadata, kept whole.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []*node    `xml:",any"`
	text    string
}

// UnmarshalXML keeps an element's attributes, children and character data.
func (n *node) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	n.XMLName, n.Attrs = start.Name, start.Attr
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			c := &node{}
			if err := c.UnmarshalXML(d, tok); err != nil {
				return err
			}
			n.Nodes = append(n.Nodes, c)
		case xml.CharData:
			n.text += string(tok)
		case xml.EndElement:
			return nil
		}
	}
}

func (n *node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n *node) all(local string) []*node {
	var out []*node
	for _, c := range n.Nodes {
		if c.XMLName.Local == local {
			out = append(out, c)
		}
	}
	return out
}

// typ is an entity, complex or enum type.
type typ struct {
	kind     string // "entity", "complex", "enum"
	full     string // namespace-qualified name
	name     string
	base     string
	abstract bool
	props    []prop
	navs     []prop
	members  []string
}

// prop is a property, a navigation property or an operation parameter.
type prop struct {
	name       string
	typ        string // qualified, without Collection()
	collection bool
	nullable   bool
	contains   bool // a navigation property's ContainsTarget
}

// action is a bound action.
type action struct {
	name    string
	full    string // namespace-qualified
	binding prop
	params  []prop
	ret     *prop
	// explicit: the action is bound only where a navigation property lists it in its
	// ExplicitOperationBindings (Core.RequiresExplicitBinding).
	explicit bool
}

// model is what specgen reads of the metadata.
type model struct {
	aliases     map[string]string // alias → namespace
	types       map[string]*typ
	container   string            // qualified name of the entity container
	sets        map[string]string // entity set → entity type
	singletons  map[string]string
	actions     []*action
	annotations map[string][]*node // target → Annotation elements
}

func load(r io.Reader) (*model, error) {
	var root node
	if err := xml.NewDecoder(r).Decode(&root); err != nil {
		return nil, fmt.Errorf("read the metadata: %w", err)
	}
	m := &model{aliases: map[string]string{}, types: map[string]*typ{}, sets: map[string]string{}, singletons: map[string]string{}, annotations: map[string][]*node{}}
	var schemas []*node
	for _, ds := range root.all("DataServices") {
		schemas = append(schemas, ds.all("Schema")...)
	}
	if len(schemas) == 0 {
		return nil, errors.New("the metadata has no Schema (want an edmx:Edmx CSDL document)")
	}
	for _, s := range schemas {
		if a := s.attr("Alias"); a != "" {
			m.aliases[a] = s.attr("Namespace")
		}
	}
	for _, s := range schemas {
		ns := s.attr("Namespace")
		for _, el := range s.Nodes {
			switch el.XMLName.Local {
			case "EntityType", "ComplexType", "EnumType":
				t := &typ{kind: strings.ToLower(strings.TrimSuffix(el.XMLName.Local, "Type")), name: el.attr("Name"), abstract: el.attr("Abstract") == "true"}
				t.full = ns + "." + t.name
				if b := el.attr("BaseType"); b != "" {
					t.base = m.qualify(b)
				}
				for _, c := range el.Nodes {
					switch c.XMLName.Local {
					case "Property":
						t.props = append(t.props, m.prop(c))
						m.inline(t.full+"/"+c.attr("Name"), c)
					case "NavigationProperty":
						p := m.prop(c)
						p.contains = c.attr("ContainsTarget") == "true"
						t.navs = append(t.navs, p)
						m.inline(t.full+"/"+c.attr("Name"), c)
					case "Member":
						t.members = append(t.members, c.attr("Name"))
					}
				}
				m.inline(t.full, el)
				m.types[t.full] = t
			case "Action":
				if el.attr("IsBound") != "true" {
					continue
				}
				a := &action{name: el.attr("Name"), full: ns + "." + el.attr("Name")}
				for i, p := range el.all("Parameter") {
					if i == 0 {
						a.binding = m.prop(p)
					} else {
						a.params = append(a.params, m.prop(p))
					}
				}
				if rt := el.all("ReturnType"); len(rt) == 1 {
					p := m.prop(rt[0])
					a.ret = &p
				}
				for _, an := range el.all("Annotation") {
					a.explicit = a.explicit || an.attr("Term") == "Org.OData.Core.V1.RequiresExplicitBinding"
				}
				m.actions = append(m.actions, a)
			case "EntityContainer":
				m.container = ns + "." + el.attr("Name")
				for _, c := range el.Nodes {
					switch c.XMLName.Local {
					case "EntitySet":
						m.sets[c.attr("Name")] = m.qualify(c.attr("EntityType"))
						m.inline(m.container+"/"+c.attr("Name"), c)
					case "Singleton":
						m.singletons[c.attr("Name")] = m.qualify(c.attr("Type"))
						m.inline(m.container+"/"+c.attr("Name"), c)
					}
				}
			case "Annotations":
				target := m.qualify(el.attr("Target"))
				m.annotations[target] = append(m.annotations[target], el.all("Annotation")...)
			}
		}
	}
	if m.container == "" {
		return nil, errors.New("the metadata has no EntityContainer")
	}
	return m, nil
}

// inline records the Annotation children of el for target.
func (m *model) inline(target string, el *node) {
	if as := el.all("Annotation"); len(as) > 0 {
		m.annotations[target] = append(m.annotations[target], as...)
	}
}

// qualify replaces an alias by its namespace: graph.user is microsoft.graph.user.
func (m *model) qualify(name string) string {
	for a, ns := range m.aliases {
		if rest, ok := strings.CutPrefix(name, a+"."); ok {
			return ns + "." + rest
		}
	}
	return name
}

func (m *model) prop(el *node) prop {
	t := el.attr("Type")
	p := prop{name: el.attr("Name"), nullable: el.attr("Nullable") != "false"}
	if inner, ok := strings.CutPrefix(t, "Collection("); ok {
		p.collection, t = true, strings.TrimSuffix(inner, ")")
	}
	p.typ = m.qualify(t)
	return p
}

// ancestry is t and its base types, most derived first.
func (m *model) ancestry(full string) []*typ {
	var out []*typ
	for t := m.types[full]; t != nil; t = m.types[t.base] {
		out = append(out, t)
	}
	return out
}

func (m *model) derivesFrom(full, base string) bool {
	for _, t := range m.ancestry(full) {
		if t.full == base {
			return true
		}
	}
	return false
}

// capability reads a Capabilities annotation's Bool at the first of targets that has
// the term: the annotation's own value when property is "", else its record's property.
func (m *model) capability(targets []string, term, property string) (value bool, found bool) {
	for _, target := range targets {
		for _, a := range m.annotations[target] {
			if a.attr("Term") != "Org.OData.Capabilities.V1."+term {
				continue
			}
			if property == "" {
				return a.attr("Bool") != "false", true
			}
			for _, rec := range a.all("Record") {
				for _, pv := range rec.all("PropertyValue") {
					if pv.attr("Property") == property && pv.attr("Bool") != "" {
						return pv.attr("Bool") == "true", true
					}
				}
			}
		}
	}
	return false, false
}

// bindsExplicitly reports whether the navigation property at target lists a among its
// Core.ExplicitOperationBindings.
func (m *model) bindsExplicitly(target string, a *action) bool {
	for _, an := range m.annotations[target] {
		if an.attr("Term") != "Org.OData.Core.V1.ExplicitOperationBindings" {
			continue
		}
		for _, coll := range an.all("Collection") {
			for _, s := range coll.all("String") {
				if m.qualify(strings.TrimSpace(s.text)) == a.full {
					return true
				}
			}
		}
	}
	return false
}

// allowed is a capability that holds unless an annotation says otherwise.
func (m *model) allowed(targets []string, term, property string) bool {
	v, found := m.capability(targets, term, property)
	return !found || v
}

// customHeaders are the names of the ReadRestrictions' custom headers at targets.
func (m *model) customHeaders(targets []string) []string {
	var names []string
	for _, target := range targets {
		for _, a := range m.annotations[target] {
			if a.attr("Term") != "Org.OData.Capabilities.V1.ReadRestrictions" {
				continue
			}
			for _, rec := range a.all("Record") {
				for _, pv := range rec.all("PropertyValue") {
					if pv.attr("Property") != "CustomHeaders" {
						continue
					}
					for _, coll := range pv.all("Collection") {
						for _, h := range coll.all("Record") {
							for _, f := range h.all("PropertyValue") {
								if f.attr("Property") == "Name" && !slices.Contains(names, f.attr("String")) {
									names = append(names, f.attr("String"))
								}
							}
						}
					}
				}
			}
		}
	}
	return names
}

// step is a path segment resolved against the metadata.
type step struct {
	seg    string
	kind   string // "set", "singleton", "key", "nav", "cast", "ref", "action"
	typ    string // the type addressed after the segment
	coll   bool   // whether it addresses a collection
	nav    *prop  // the navigation property (nav, and key, cast, ref after one)
	owner  string // the type declaring nav
	target string // annotation target for the set, singleton or navigation property
	action *action
}

// resolve walks path through the metadata.
func (m *model) resolve(path string) ([]step, error) {
	var steps []step
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, seg := range segs {
		var prev step
		if i > 0 {
			prev = steps[i-1]
		}
		fail := func(format string, args ...any) ([]step, error) {
			return nil, fmt.Errorf("%s: segment %q: %s", path, seg, fmt.Sprintf(format, args...))
		}
		s := step{seg: seg, nav: prev.nav, owner: prev.owner, target: prev.target}
		switch {
		case i == 0:
			if t, ok := m.sets[seg]; ok {
				s.kind, s.typ, s.coll, s.target = "set", t, true, m.container+"/"+seg
			} else if t, ok := m.singletons[seg]; ok {
				s.kind, s.typ, s.target = "singleton", t, m.container+"/"+seg
			} else {
				return fail("no entity set or singleton by that name")
			}
		case seg == "$ref":
			if prev.nav == nil || prev.nav.contains || prev.kind != "nav" && prev.kind != "key" {
				return fail("$ref follows a navigation property that is not a containment")
			}
			if !m.allowed([]string{prev.owner + "/" + prev.nav.name}, "NavigationRestrictions", "Referenceable") {
				return fail("NavigationRestrictions say %s is not referenceable", prev.nav.name)
			}
			s.kind, s.typ, s.coll = "ref", prev.typ, prev.coll
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "-id}"):
			name := strings.TrimSuffix(strings.TrimPrefix(seg, "{"), "-id}")
			if !prev.coll {
				return fail("a key needs a collection before it")
			}
			if t := m.types[prev.typ]; t == nil || t.name != name {
				return fail("the key of %s is {%s-id}", prev.typ, m.types[prev.typ].name)
			}
			s.kind, s.typ = "key", prev.typ
		case strings.HasPrefix(seg, "graph."):
			full := m.qualify(seg)
			if m.types[full] == nil || !m.derivesFrom(full, prev.typ) {
				return fail("%s is not a type derived from %s", full, prev.typ)
			}
			s.kind, s.typ, s.coll = "cast", full, prev.coll
		default:
			if prev.coll {
				return fail("no bound operation on collections is described")
			}
			for _, t := range m.ancestry(prev.typ) {
				for j := range t.navs {
					if n := &t.navs[j]; n.name == seg && s.kind == "" {
						s.kind, s.typ, s.coll, s.nav, s.owner, s.target = "nav", n.typ, n.collection, n, t.full, t.full+"/"+n.name
					}
				}
			}
			if s.kind != "" {
				break
			}
			for _, a := range m.actions {
				if a.name == seg && !a.binding.collection && m.derivesFrom(prev.typ, a.binding.typ) {
					s.kind, s.action, s.coll = "action", a, false
					if a.ret != nil {
						s.typ = a.ret.typ
					}
				}
			}
			if s.kind == "" {
				return fail("%s has no navigation property or bound action by that name", prev.typ)
			}
			if s.action.explicit && !m.bindsExplicitly(prev.target, s.action) {
				return fail("the action requires explicit binding, and %s does not list it", prev.target)
			}
			if i != len(segs)-1 {
				return fail("an action ends the path")
			}
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// gen builds the OpenAPI document.
type gen struct {
	m       *model
	schemas map[string]any
	queue   []string
	seen    map[string]bool
	extra   map[string]any // schemas that are not metadata types
}

func (g *gen) ref(full string) map[string]any {
	if !g.seen[full] {
		g.seen[full] = true
		g.queue = append(g.queue, full)
	}
	return map[string]any{"$ref": "#/components/schemas/" + full}
}

// Generate converts the metadata read from r to the OpenAPI description of ops; source
// describes where the metadata came from.
func Generate(r io.Reader, ops []operation, source map[string]any) (map[string]any, error) {
	m, err := load(r)
	if err != nil {
		return nil, err
	}
	g := &gen{m: m, schemas: map[string]any{}, seen: map[string]bool{}, extra: map[string]any{}}
	paths := map[string]map[string]any{}
	responses := map[string]any{"error": map[string]any{
		"description": "error",
		"content":     map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/odata.error"}}},
	}}
	for _, op := range ops {
		steps, err := m.resolve(op.path)
		if err != nil {
			return nil, err
		}
		o, err := g.operation(op.method, op.path, steps, responses)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", op.method, op.path, err)
		}
		item := paths[op.path]
		if item == nil {
			item = map[string]any{}
			var params []any
			for _, s := range steps {
				if s.kind == "key" {
					name := strings.Trim(s.seg, "{}")
					params = append(params, map[string]any{"name": name, "in": "path", "required": true,
						"description": "The unique identifier of " + m.types[s.typ].name, "schema": map[string]any{"type": "string"},
						"x-ms-docs-key-type": m.types[s.typ].name})
				}
			}
			if len(params) > 0 {
				item["parameters"] = params
			}
			paths[op.path] = item
		}
		item[strings.ToLower(op.method)] = o
	}
	g.errorSchemas()
	for len(g.queue) > 0 {
		full := g.queue[0]
		g.queue = g.queue[1:]
		s, err := g.typeSchema(full)
		if err != nil {
			return nil, err
		}
		g.schemas[full] = s
	}
	g.discriminators()
	for k, v := range g.extra {
		g.schemas[k] = v
	}
	pathItems := map[string]any{}
	for p, item := range paths {
		pathItems[p] = item
	}
	doc := map[string]any{
		"openapi": "3.0.4",
		"info": map[string]any{
			"title":   "Microsoft Graph v1.0: the subset roster's entra target uses",
			"version": "v1.0",
			"description": "The operations roster's entra target calls and its emulator serves, converted by " +
				"targets/testing/graphtest/internal/specgen from Microsoft Graph's CSDL metadata with the conventions of " +
				"Microsoft's OpenAPI conversion (msgraph-metadata conversion-settings/openapi.json). Regenerate with " +
				"go run ./targets/testing/graphtest/internal/specgen -metadata <msgraph-metadata>/clean_v10_metadata/cleanMetadata.xml.",
			"x-source": source,
		},
		"servers": []any{map[string]any{"url": "https://graph.microsoft.com/v1.0", "description": "Core"}},
		"paths":   pathItems,
		"components": map[string]any{
			"schemas":       g.schemas,
			"responses":     responses,
			"parameters":    g.parameters(),
			"requestBodies": map[string]any{"refPostBody": map[string]any{"description": "New navigation property ref value", "required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/ReferenceCreate"}}}}},
		},
	}
	// Keep only the components the operations reference.
	if doc["paths"], doc["components"], err = keep(doc, ops); err != nil {
		return nil, err
	}
	return doc, nil
}

// operation describes method on the resolved path.
func (g *gen) operation(method, path string, steps []step, responses map[string]any) (map[string]any, error) {
	m := g.m
	last := steps[len(steps)-1]
	targets := []string{last.target}
	errs := map[string]any{"4XX": map[string]any{"$ref": "#/components/responses/error"}, "5XX": map[string]any{"$ref": "#/components/responses/error"}}
	op := map[string]any{"tags": []any{tag(m, steps)}, "operationId": operationID(method, steps)}
	resp := func(r map[string]any) map[string]any {
		out := map[string]any{"2XX": r}
		for k, v := range errs {
			out[k] = v
		}
		return out
	}
	success := resp(map[string]any{"description": "Success"})
	ifMatch := map[string]any{"name": "If-Match", "in": "header", "description": "ETag", "schema": map[string]any{"type": "string"}}
	switch {
	case last.kind == "ref" && method == "POST" && last.coll:
		op["requestBody"] = map[string]any{"$ref": "#/components/requestBodies/refPostBody"}
		op["responses"] = success
	case last.kind == "ref" && method == "DELETE" && !last.coll:
		op["parameters"] = []any{ifMatch}
		op["responses"] = success
	case last.kind == "action" && method == "POST":
		a := last.action
		if len(a.params) > 0 {
			props := map[string]any{}
			for _, p := range a.params {
				props[p.name] = g.propSchema(p)
			}
			op["requestBody"] = map[string]any{"description": "Action parameters", "required": true,
				"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object", "properties": props}}}}
		}
		switch {
		case a.ret == nil:
			op["responses"] = success
		case strings.HasPrefix(a.ret.typ, "Edm."):
			v := primitive(a.ret.typ)
			if a.ret.typ == "Edm.Boolean" {
				v["default"] = false
			}
			op["responses"] = resp(map[string]any{"description": "Success", "content": map[string]any{"application/json": map[string]any{
				"schema": map[string]any{"type": "object", "properties": map[string]any{"value": v}}}}})
		default:
			op["responses"] = resp(map[string]any{"description": "Success", "content": map[string]any{"application/json": map[string]any{
				"schema": map[string]any{"anyOf": []any{g.ref(a.ret.typ), map[string]any{"type": "object", "nullable": true}}}}}})
		}
		op["x-ms-docs-operation-type"] = "action"
	case method == "GET" && last.coll && last.kind != "ref":
		if !m.allowed(targets, "ReadRestrictions", "Readable") {
			return nil, errors.New("ReadRestrictions say it is not readable")
		}
		t := m.types[last.typ]
		var params []any
		if m.allowed(targets, "TopSupported", "") {
			params = append(params, map[string]any{"$ref": "#/components/parameters/top"})
		}
		if m.allowed(targets, "SkipSupported", "") {
			params = append(params, map[string]any{"$ref": "#/components/parameters/skip"})
		}
		if m.allowed(targets, "SearchRestrictions", "Searchable") {
			params = append(params, map[string]any{"$ref": "#/components/parameters/search"})
		}
		if m.allowed(targets, "FilterRestrictions", "Filterable") {
			params = append(params, map[string]any{"$ref": "#/components/parameters/filter"})
		}
		if m.allowed(targets, "CountRestrictions", "Countable") {
			params = append(params, map[string]any{"$ref": "#/components/parameters/count"})
		}
		if m.allowed(targets, "SortRestrictions", "Sortable") {
			params = append(params, enumParam("$orderby", "Order items by property values", g.orderby(t)))
		}
		params = append(params, enumParam("$select", "Select properties to be returned", g.selectable(t)))
		if m.allowed(targets, "ExpandRestrictions", "Expandable") {
			params = append(params, enumParam("$expand", "Expand related entities", g.expandable(t)))
		}
		for _, h := range m.customHeaders(targets) {
			params = append(params, map[string]any{"$ref": "#/components/parameters/" + h})
		}
		op["parameters"] = params
		name := t.full + "CollectionResponse"
		responses[name] = map[string]any{"description": "Retrieved collection", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/" + name}}}}
		g.extra[name] = map[string]any{"title": "Collection of " + t.name, "type": "object", "allOf": []any{
			map[string]any{"$ref": "#/components/schemas/BaseCollectionPaginationCountResponse"},
			map[string]any{"type": "object", "properties": map[string]any{"value": map[string]any{"type": "array", "items": g.ref(t.full)}}},
		}}
		op["responses"] = resp(map[string]any{"$ref": "#/components/responses/" + name})
		op["x-ms-pageable"] = map[string]any{"nextLinkName": "@odata.nextLink", "operationName": "listMore"}
	case method == "GET" && !last.coll:
		if !m.allowed(targets, "ReadRestrictions", "Readable") {
			return nil, errors.New("ReadRestrictions say it is not readable")
		}
		t := m.types[last.typ]
		params := []any{enumParam("$select", "Select properties to be returned", g.selectable(t))}
		if m.allowed(targets, "ExpandRestrictions", "Expandable") {
			params = append(params, enumParam("$expand", "Expand related entities", g.expandable(t)))
		}
		op["parameters"] = params
		op["responses"] = resp(map[string]any{"description": "Retrieved entity", "content": map[string]any{"application/json": map[string]any{"schema": g.ref(t.full)}}})
	case method == "POST" && last.coll && last.kind == "set":
		if !m.allowed(targets, "InsertRestrictions", "Insertable") {
			return nil, errors.New("InsertRestrictions say it is not insertable")
		}
		op["requestBody"] = map[string]any{"description": "New entity", "required": true, "content": map[string]any{"application/json": map[string]any{"schema": g.ref(last.typ)}}}
		op["responses"] = resp(map[string]any{"description": "Created entity", "content": map[string]any{"application/json": map[string]any{"schema": g.ref(last.typ)}}})
	case method == "PATCH" && last.kind == "key":
		if !g.writable(steps, "UpdateRestrictions", "Updatable") {
			return nil, errors.New("the metadata does not make it updatable")
		}
		op["requestBody"] = map[string]any{"description": "New property values", "required": true, "content": map[string]any{"application/json": map[string]any{"schema": g.ref(last.typ)}}}
		op["responses"] = success
	case method == "DELETE" && last.kind == "key":
		if !g.writable(steps, "DeleteRestrictions", "Deletable") {
			return nil, errors.New("the metadata does not make it deletable")
		}
		op["parameters"] = []any{ifMatch}
		op["responses"] = success
	default:
		return nil, fmt.Errorf("no %s operation is described for a %s segment", method, last.kind)
	}
	return op, nil
}

// writable reports whether an item addressed by key may be updated or deleted: an entity
// set's item unless its annotations forbid it; an item of a navigation property that is
// not a containment only when its annotations say so explicitly.
func (g *gen) writable(steps []step, term, property string) bool {
	last := steps[len(steps)-1]
	targets := []string{last.target}
	if prev := steps[len(steps)-2]; prev.kind == "nav" && !prev.nav.contains {
		v, found := g.m.capability(targets, term, property)
		return found && v
	}
	return g.m.allowed(targets, term, property)
}

func tag(m *model, steps []step) string {
	first := steps[0]
	last := steps[len(steps)-1]
	name := ""
	if t := m.types[last.typ]; t != nil {
		name = t.name
	}
	return first.seg + "." + name
}

func operationID(method string, steps []step) string {
	var parts []string
	for _, s := range steps {
		switch s.kind {
		case "key":
			parts = append(parts, strings.TrimSuffix(strings.TrimPrefix(s.seg, "{"), "-id}"))
		case "ref":
			parts = append(parts, "Ref")
		default:
			parts = append(parts, s.seg)
		}
	}
	return strings.ToLower(method) + "." + strings.Join(parts, ".")
}

func enumParam(name, desc string, values []string) map[string]any {
	items := make([]any, len(values))
	for i, v := range values {
		items[i] = v
	}
	return map[string]any{"name": name, "in": "query", "description": desc, "style": "form", "explode": false,
		"schema": map[string]any{"uniqueItems": true, "type": "array", "items": map[string]any{"type": "string", "enum": items}}}
}

// selectable are the names $select takes on t: its structural and navigation properties,
// those of its base types first.
func (g *gen) selectable(t *typ) []string {
	var out []string
	anc := g.m.ancestry(t.full)
	for i := len(anc) - 1; i >= 0; i-- {
		for _, p := range anc[i].props {
			out = append(out, p.name)
		}
	}
	for i := len(anc) - 1; i >= 0; i-- {
		for _, p := range anc[i].navs {
			out = append(out, p.name)
		}
	}
	return out
}

func (g *gen) orderby(t *typ) []string {
	var out []string
	anc := g.m.ancestry(t.full)
	for i := len(anc) - 1; i >= 0; i-- {
		for _, p := range anc[i].props {
			out = append(out, p.name, p.name+" desc")
		}
	}
	return out
}

func (g *gen) expandable(t *typ) []string {
	out := []string{"*"}
	anc := g.m.ancestry(t.full)
	for i := len(anc) - 1; i >= 0; i-- {
		for _, p := range anc[i].navs {
			out = append(out, p.name)
		}
	}
	return out
}

func (g *gen) parameters() map[string]any {
	return map[string]any{
		"top":    map[string]any{"name": "$top", "in": "query", "description": "Show only the first n items", "schema": map[string]any{"minimum": 0, "type": "integer"}, "example": 50},
		"skip":   map[string]any{"name": "$skip", "in": "query", "description": "Skip the first n items", "schema": map[string]any{"minimum": 0, "type": "integer"}},
		"search": map[string]any{"name": "$search", "in": "query", "description": "Search items by search phrases", "schema": map[string]any{"type": "string"}},
		"filter": map[string]any{"name": "$filter", "in": "query", "description": "Filter items by property values", "schema": map[string]any{"type": "string"}},
		"count":  map[string]any{"name": "$count", "in": "query", "description": "Include count of items", "schema": map[string]any{"type": "boolean"}},
		"ConsistencyLevel": map[string]any{"name": "ConsistencyLevel", "in": "header",
			"description": "Indicates the requested consistency level. Documentation URL: https://docs.microsoft.com/graph/aad-advanced-queries",
			"schema":      map[string]any{"type": "string"}, "examples": map[string]any{"example-1": map[string]any{"description": "$search and $count queries require the client to set the ConsistencyLevel HTTP header to 'eventual'.", "value": "eventual"}}},
	}
}

// errorSchemas adds Graph's error body and the schemas shared by responses.
func (g *gen) errorSchemas() {
	obj := func(required []any, props map[string]any) map[string]any {
		s := map[string]any{"type": "object", "properties": props}
		if required != nil {
			s["required"] = required
		}
		return s
	}
	str := map[string]any{"type": "string"}
	inner := map[string]any{"type": "object", "description": "The structure of this object is service-specific"}
	if g.m.types["microsoft.graph.InnerError"] != nil {
		inner = g.ref("microsoft.graph.InnerError")
	}
	g.extra["odata.error"] = obj([]any{"error"}, map[string]any{"error": map[string]any{"$ref": "#/components/schemas/odata.error.main"}})
	g.extra["odata.error.main"] = obj([]any{"code", "message"}, map[string]any{"code": str, "message": str, "target": str,
		"details": map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/odata.error.detail"}}, "innerError": inner})
	g.extra["odata.error.detail"] = obj([]any{"code", "message"}, map[string]any{"code": str, "message": str, "target": str})
	g.extra["BaseCollectionPaginationCountResponse"] = map[string]any{"title": "Base collection pagination and count responses", "type": "object", "properties": map[string]any{
		"@odata.count":    map[string]any{"type": "integer", "format": "int64", "nullable": true},
		"@odata.nextLink": map[string]any{"type": "string", "nullable": true},
	}}
	g.extra["ReferenceCreate"] = obj(nil, map[string]any{"@odata.id": str})
}

// typeSchema is the schema of a metadata type.
func (g *gen) typeSchema(full string) (map[string]any, error) {
	t := g.m.types[full]
	if t == nil {
		return nil, fmt.Errorf("type %s is not in the metadata", full)
	}
	if t.kind == "enum" {
		vals := make([]any, len(t.members))
		for i, v := range t.members {
			vals[i] = v
		}
		return map[string]any{"title": t.name, "type": "string", "enum": vals}, nil
	}
	props := map[string]any{}
	for _, p := range t.props {
		props[p.name] = g.propSchema(p)
	}
	odataType := map[string]any{"type": "string"}
	if t.base != "" && !t.abstract {
		odataType["default"] = "#" + t.full
	}
	props["@odata.type"] = odataType
	own := map[string]any{"title": t.name, "type": "object", "properties": props}
	if t.base == "" {
		return own, nil
	}
	return map[string]any{"allOf": []any{g.ref(t.base), own}}, nil
}

// discriminators add to each type with derived types among the schemas the mapping of
// @odata.type values to them.
func (g *gen) discriminators() {
	var names []string
	for k := range g.schemas {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, base := range names {
		mapping := map[string]any{}
		for _, d := range names {
			if d != base && g.m.derivesFrom(d, base) && !g.m.types[d].abstract {
				mapping["#"+d] = "#/components/schemas/" + d
			}
		}
		if len(mapping) > 0 {
			g.schemas[base].(map[string]any)["discriminator"] = map[string]any{"propertyName": "@odata.type", "mapping": mapping}
		}
	}
}

func (g *gen) propSchema(p prop) map[string]any {
	var item map[string]any
	if strings.HasPrefix(p.typ, "Edm.") {
		item = primitive(p.typ)
		if p.nullable {
			item["nullable"] = true
		}
	} else if p.nullable && !p.collection {
		item = map[string]any{"anyOf": []any{g.ref(p.typ), map[string]any{"type": "object", "nullable": true}}}
	} else {
		item = g.ref(p.typ)
	}
	if p.collection {
		return map[string]any{"type": "array", "items": item}
	}
	return item
}

// primitive is the schema of an Edm primitive type, as Microsoft's conversion writes it.
func primitive(edm string) map[string]any {
	num := func(format string) map[string]any {
		return map[string]any{"oneOf": []any{
			map[string]any{"type": "number", "format": format},
			map[string]any{"type": "string"},
			map[string]any{"type": "string", "enum": []any{"-INF", "INF", "NaN"}},
		}}
	}
	switch edm {
	case "Edm.String":
		return map[string]any{"type": "string"}
	case "Edm.Boolean":
		return map[string]any{"type": "boolean"}
	case "Edm.Byte":
		return map[string]any{"type": "integer", "format": "uint8", "minimum": 0, "maximum": 255}
	case "Edm.SByte":
		return map[string]any{"type": "integer", "format": "int8", "minimum": -128, "maximum": 127}
	case "Edm.Int16":
		return map[string]any{"type": "integer", "format": "int16", "minimum": -32768, "maximum": 32767}
	case "Edm.Int32":
		return map[string]any{"type": "integer", "format": "int32", "minimum": -2147483648, "maximum": 2147483647}
	case "Edm.Int64":
		return map[string]any{"type": "integer", "format": "int64"}
	case "Edm.Single", "Edm.Double":
		return num(map[string]string{"Edm.Single": "float", "Edm.Double": "double"}[edm])
	case "Edm.Decimal":
		return num("decimal")
	case "Edm.Guid":
		return map[string]any{"type": "string", "format": "uuid", "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"}
	case "Edm.DateTimeOffset":
		return map[string]any{"type": "string", "format": "date-time", "pattern": "^[0-9]{4,}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])([.][0-9]{1,12})?(Z|[+-][0-9][0-9]:[0-9][0-9])$"}
	case "Edm.Date":
		return map[string]any{"type": "string", "format": "date", "pattern": "^[0-9]{4,}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$"}
	case "Edm.TimeOfDay":
		return map[string]any{"type": "string", "format": "time", "pattern": "^([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])([.][0-9]{1,12})?$"}
	case "Edm.Duration":
		return map[string]any{"type": "string", "format": "duration", "pattern": "^-?P([0-9]+D)?(T([0-9]+H)?([0-9]+M)?([0-9]+([.][0-9]+)?S)?)?$"}
	case "Edm.Binary", "Edm.Stream":
		return map[string]any{"type": "string", "format": "base64url"}
	}
	return map[string]any{} // Edm.Untyped and the geography types: any value
}
