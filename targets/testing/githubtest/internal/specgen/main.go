// Command specgen regenerates githubtest's copies of GitHub's API descriptions, the parts
// the emulator serves and is checked against:
//
//   - testdata/api.github.com.json, from the npm package @octokit/openapi
//     (generated/api.github.com.json: GitHub's OpenAPI description from
//     github/rest-api-description with Octokit's extensions): the operations
//     githubtest.Operations lists (the emulator's REST routes) and the webhook events
//     githubtest.WebhookEvents lists (x-webhooks), with every component they reference,
//     request and response examples dropped;
//   - testdata/schema.github.graphql.json, from the npm package @octokit/graphql-schema
//     (schema.json: GitHub's public GraphQL schema, introspected): the types and fields
//     githubtest.GraphQLSchema lists, each field with its type and arguments as GitHub
//     declares them, and the enums' values.
//
// From the repository root:
//
//	go run ./targets/testing/githubtest/internal/specgen                  # the versions in testdata
//	go run ./targets/testing/githubtest/internal/specgen -version latest -graphql-version latest
//	go run ./targets/testing/githubtest/internal/specgen -tgz openapi-23.0.2.tgz -graphql-tgz graphql-schema-15.26.1.tgz
//
// It runs "npm pack PACKAGE@VERSION" (the npm registry) unless a tarball is given, and
// records each subset's source (package, version, file and the tarball's SHA-512).
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/roster-dev/roster/targets/testing/githubtest"
)

const (
	pkg    = "@octokit/openapi"
	member = "package/generated/api.github.com.json"

	gqlPkg    = "@octokit/graphql-schema"
	gqlMember = "package/schema.json"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "specgen:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := flag.String("dir", "targets/testing/githubtest/testdata", "where the subsets are")
	version := flag.String("version", "", "the @octokit/openapi version (default: the one the current subset names)")
	tgz := flag.String("tgz", "", "an @octokit/openapi tarball to read instead of asking npm")
	gqlVersion := flag.String("graphql-version", "", "the @octokit/graphql-schema version (default: the one the current subset names)")
	gqlTgz := flag.String("graphql-tgz", "", "an @octokit/graphql-schema tarball to read instead of asking npm")
	flag.Parse()

	tmp, err := os.MkdirTemp("", "specgen")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := rest(filepath.Join(*dir, "api.github.com.json"), *version, *tgz, tmp); err != nil {
		return err
	}
	return graphql(filepath.Join(*dir, "schema.github.graphql.json"), *gqlVersion, *gqlTgz, tmp)
}

// tarball is a package's tarball as npm publishes it.
type tarball struct {
	name string
	raw  []byte
}

// pack reads package pkg at version from the npm registry, or the tarball tgz when given.
func pack(pkg, version, tgz, tmp string) (*tarball, error) {
	if tgz == "" {
		var err error
		if tgz, err = npmPack(tmp, pkg, version); err != nil {
			return nil, err
		}
	}
	raw, err := os.ReadFile(tgz)
	if err != nil {
		return nil, err
	}
	return &tarball{name: tgz, raw: raw}, nil
}

// integrity is the tarball's SHA-512 as npm writes it ("sha512-…").
func (t *tarball) integrity() string {
	sum := sha512.Sum512(t.raw)
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

// file reads one file of the package ("package/…").
func (t *tarball) file(name string) ([]byte, error) {
	b, err := extract(t.raw, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.name, err)
	}
	return b, nil
}

// version is the package's version, from its package.json.
func (t *tarball) version() (string, error) {
	b, err := t.file("package/package.json")
	if err != nil {
		return "", err
	}
	var p struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &p); err != nil || p.Version == "" {
		return "", fmt.Errorf("%s: package.json names no version", t.name)
	}
	return p.Version, nil
}

// source is where a subset came from.
type source struct {
	Package   string `json:"package"`
	Version   string `json:"version"`
	File      string `json:"file"`
	Integrity string `json:"integrity"`
	Note      string `json:"note"`
}

func rest(out, version, tgz, tmp string) error {
	if version == "" && tgz == "" {
		var cur struct {
			Info struct {
				Subset source `json:"x-roster-subset"`
			} `json:"info"`
		}
		if err := readJSON(out, &cur); err != nil || cur.Info.Subset.Version == "" {
			return fmt.Errorf("%s names no version (give -version)", out)
		}
		version = cur.Info.Subset.Version
	}
	tb, err := pack(pkg, version, tgz, tmp)
	if err != nil {
		return err
	}
	if version, err = tb.version(); err != nil {
		return err
	}
	full, err := tb.file(member)
	if err != nil {
		return err
	}
	var spec map[string]any
	if err := json.Unmarshal(full, &spec); err != nil {
		return fmt.Errorf("%s: %w", member, err)
	}
	sub, err := subset(spec, githubtest.Operations(), githubtest.WebhookEvents())
	if err != nil {
		return err
	}
	info := sub["info"].(map[string]any)
	info["x-roster-subset"] = source{Package: pkg, Version: version,
		File: strings.TrimPrefix(member, "package/"), Integrity: tb.integrity(),
		Note: "the operations githubtest serves, with the components they reference; examples removed. Regenerate with go run ./targets/testing/githubtest/internal/specgen"}
	return writeJSON(out, sub)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// npmPack downloads the package's tarball into dir and returns its path.
func npmPack(dir, pkg, version string) (string, error) {
	cmd := exec.Command("npm", "pack", "--silent", "--pack-destination", dir, pkg+"@"+version)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("npm pack %s@%s: %w", pkg, version, err)
	}
	lines := strings.Fields(string(out))
	if len(lines) == 0 {
		return "", errors.New("npm pack printed no file name")
	}
	return filepath.Join(dir, lines[len(lines)-1]), nil
}

func extract(tgz []byte, name string) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("no %s", name)
		}
		if err != nil {
			return nil, err
		}
		if h.Name == name {
			return io.ReadAll(tr)
		}
	}
}

// subset keeps ops ("GET /orgs/{org}/members") and the webhook events of spec, and the
// components they reference.
func subset(spec map[string]any, ops, events []string) (map[string]any, error) {
	paths := spec["paths"].(map[string]any)
	keep := map[string]any{}
	for _, op := range ops {
		method, path, _ := strings.Cut(op, " ")
		item, _ := paths[path].(map[string]any)
		o := item[strings.ToLower(method)]
		if o == nil {
			return nil, fmt.Errorf("%s is not in GitHub's description", op)
		}
		k, _ := keep[path].(map[string]any)
		if k == nil {
			k = map[string]any{}
			if ps, ok := item["parameters"]; ok {
				k["parameters"] = ps
			}
			keep[path] = k
		}
		k[strings.ToLower(method)] = o
	}
	hooks := map[string]any{}
	all, _ := spec["x-webhooks"].(map[string]any)
	for _, ev := range events {
		h := all[ev]
		if h == nil {
			return nil, fmt.Errorf("webhook event %s is not in GitHub's description", ev)
		}
		hooks[ev] = h
	}
	stripExamples(keep)
	stripExamples(hooks)

	comps := spec["components"].(map[string]any)
	outComps := map[string]any{}
	var visit func(v any) error
	visit = func(v any) error {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
				if !strings.HasPrefix(ref, "#/components/") || len(parts) != 2 {
					return fmt.Errorf("reference %s is not to a component", ref)
				}
				sec, _ := outComps[parts[0]].(map[string]any)
				if sec == nil {
					sec = map[string]any{}
					outComps[parts[0]] = sec
				}
				if _, done := sec[parts[1]]; !done {
					c := comps[parts[0]].(map[string]any)[parts[1]]
					if c == nil {
						return fmt.Errorf("reference %s: no such component", ref)
					}
					stripExamples(c)
					sec[parts[1]] = c
					if err := visit(c); err != nil {
						return err
					}
				}
			}
			for _, k := range sortedKeys(v) {
				if err := visit(v[k]); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range v {
				if err := visit(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := visit(keep); err != nil {
		return nil, err
	}
	if err := visit(hooks); err != nil {
		return nil, err
	}
	return map[string]any{
		"openapi":      spec["openapi"],
		"info":         spec["info"],
		"servers":      spec["servers"],
		"externalDocs": spec["externalDocs"],
		"paths":        keep,
		"x-webhooks":   hooks,
		"components":   outComps,
	}, nil
}

// stripExamples removes the examples of media types (request and response bodies): they
// are documentation, and the largest part of the description.
func stripExamples(v any) {
	switch v := v.(type) {
	case map[string]any:
		if c, ok := v["content"].(map[string]any); ok {
			for _, mt := range c {
				if m, ok := mt.(map[string]any); ok && m["schema"] != nil {
					delete(m, "examples")
				}
			}
		}
		for _, e := range v {
			stripExamples(e)
		}
	case []any:
		for _, e := range v {
			stripExamples(e)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// gqlSubset is the part of GitHub's GraphQL schema the emulator serves.
type gqlSubset struct {
	Source source `json:"source"`
	// Types by name: an object's fields (the emulator's) with their types and arguments
	// written as in the schema language ("String!", "[TeamMemberEdge]"), an enum's values.
	Types map[string]gqlType `json:"types"`
}

type gqlType struct {
	Kind   string              `json:"kind"`
	Fields map[string]gqlField `json:"fields,omitempty"`
	Values []string            `json:"values,omitempty"`
}

type gqlField struct {
	Type string            `json:"type"`
	Args map[string]string `json:"args,omitempty"`
}

// introspected is the part of an introspection result specgen reads.
type introspected struct {
	Schema struct {
		Types []struct {
			Kind   string `json:"kind"`
			Name   string `json:"name"`
			Fields []struct {
				Name string  `json:"name"`
				Type typeRef `json:"type"`
				Args []struct {
					Name string  `json:"name"`
					Type typeRef `json:"type"`
				} `json:"args"`
			} `json:"fields"`
			EnumValues []struct {
				Name string `json:"name"`
			} `json:"enumValues"`
		} `json:"types"`
	} `json:"__schema"`
}

type typeRef struct {
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	OfType *typeRef `json:"ofType"`
}

func (t typeRef) String() string {
	switch {
	case t.Kind == "NON_NULL" && t.OfType != nil:
		return t.OfType.String() + "!"
	case t.Kind == "LIST" && t.OfType != nil:
		return "[" + t.OfType.String() + "]"
	}
	return t.Name
}

func graphql(out, version, tgz, tmp string) error {
	if version == "" && tgz == "" {
		var cur gqlSubset
		if err := readJSON(out, &cur); err != nil || cur.Source.Version == "" {
			return fmt.Errorf("%s names no version (give -graphql-version)", out)
		}
		version = cur.Source.Version
	}
	tb, err := pack(gqlPkg, version, tgz, tmp)
	if err != nil {
		return err
	}
	if version, err = tb.version(); err != nil {
		return err
	}
	full, err := tb.file(gqlMember)
	if err != nil {
		return err
	}
	var in introspected
	if err := json.Unmarshal(full, &in); err != nil {
		return fmt.Errorf("%s: %w", gqlMember, err)
	}
	sub := gqlSubset{Source: source{Package: gqlPkg, Version: version, File: strings.TrimPrefix(gqlMember, "package/"),
		Integrity: tb.integrity(), Note: "the types and fields githubtest serves. Regenerate with go run ./targets/testing/githubtest/internal/specgen"},
		Types: map[string]gqlType{}}
	want := githubtest.GraphQLSchema()
	for _, t := range in.Schema.Types {
		fields, ok := want[t.Name]
		if !ok {
			continue
		}
		gt := gqlType{Kind: t.Kind}
		if t.Kind == "ENUM" {
			for _, v := range t.EnumValues {
				gt.Values = append(gt.Values, v.Name)
			}
		}
		for _, name := range fields {
			for _, f := range t.Fields {
				if f.Name != name {
					continue
				}
				if gt.Fields == nil {
					gt.Fields = map[string]gqlField{}
				}
				gf := gqlField{Type: f.Type.String()}
				for _, a := range f.Args {
					if gf.Args == nil {
						gf.Args = map[string]string{}
					}
					gf.Args[a.Name] = a.Type.String()
				}
				gt.Fields[name] = gf
			}
		}
		sub.Types[t.Name] = gt
	}
	for name := range want {
		if _, ok := sub.Types[name]; !ok {
			return fmt.Errorf("GitHub's GraphQL schema has no type %s", name)
		}
	}
	return writeJSON(out, sub)
}
