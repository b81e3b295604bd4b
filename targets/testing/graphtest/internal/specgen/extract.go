package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// loadOpenAPI reads an OpenAPI description (YAML or JSON) as plain JSON values.
func loadOpenAPI(path string) (map[string]any, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// Extract keeps of a published OpenAPI description (Microsoft's
// openapi/v1.0/openapi.yaml) the operations ops, their path items' parameters and the
// components they reference, and nothing else: navigation properties
// (x-ms-navigationProperty), which Graph returns only under $expand, are left out of the
// schemas as Generate leaves them out, and discriminator mappings keep the types kept.
// An operation the description lacks is an error.
func Extract(src map[string]any, ops []operation, source map[string]any) (map[string]any, error) {
	paths, components, err := keep(src, ops)
	if err != nil {
		return nil, err
	}
	info, _ := src["info"].(map[string]any)
	out := map[string]any{
		"openapi": src["openapi"],
		"info": map[string]any{
			"title":   "Microsoft Graph v1.0: the subset roster's entra target uses",
			"version": info["version"],
			"description": "The operations roster's entra target calls and its emulator serves, extracted by " +
				"targets/testing/graphtest/internal/specgen from Microsoft Graph's OpenAPI description, navigation " +
				"properties left out. Regenerate with go run ./targets/testing/graphtest/internal/specgen -openapi <msgraph-metadata>/openapi/v1.0/openapi.yaml.",
			"x-source": source,
		},
		"servers":    src["servers"],
		"paths":      paths,
		"components": components,
	}
	return out, nil
}

// keep returns the path items of ops in src, and the components they reference.
func keep(src map[string]any, ops []operation) (map[string]any, map[string]any, error) {
	srcPaths, _ := src["paths"].(map[string]any)
	comps, _ := src["components"].(map[string]any)
	paths := map[string]any{}
	for _, op := range ops {
		item, _ := srcPaths[op.path].(map[string]any)
		if item == nil {
			return nil, nil, fmt.Errorf("the description has no path %s", op.path)
		}
		o := item[strings.ToLower(op.method)]
		if o == nil {
			return nil, nil, fmt.Errorf("the description has no %s operation on %s", op.method, op.path)
		}
		out, _ := paths[op.path].(map[string]any)
		if out == nil {
			out = map[string]any{}
			if p, ok := item["parameters"]; ok {
				out["parameters"] = p
			}
			paths[op.path] = out
		}
		out[strings.ToLower(op.method)] = o
	}
	kept := map[string]map[string]any{} // kind → name → component
	var walk func(v any) error
	walk = func(v any) error {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				rest, ok := strings.CutPrefix(ref, "#/components/")
				if !ok {
					return fmt.Errorf("reference %s is outside the description's components", ref)
				}
				kind, name, _ := strings.Cut(rest, "/")
				if kept[kind][name] != nil {
					return nil
				}
				c, _ := comps[kind].(map[string]any)
				target, _ := c[name].(map[string]any)
				if target == nil {
					return fmt.Errorf("reference %s has no target", ref)
				}
				if kept[kind] == nil {
					kept[kind] = map[string]any{}
				}
				kept[kind][name] = target
				return walk(target)
			}
			if props, ok := v["properties"].(map[string]any); ok {
				for k, p := range props {
					if pm, ok := p.(map[string]any); ok && pm["x-ms-navigationProperty"] == true {
						delete(props, k)
					}
				}
			}
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if k == "discriminator" {
					continue // its mapping names types; only those kept otherwise stay
				}
				if err := walk(v[k]); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range v {
				if err := walk(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(paths); err != nil {
		return nil, nil, err
	}
	for _, s := range kept["schemas"] {
		d, _ := s.(map[string]any)["discriminator"].(map[string]any)
		mapping, _ := d["mapping"].(map[string]any)
		for k, ref := range mapping {
			name := strings.TrimPrefix(fmt.Sprint(ref), "#/components/schemas/")
			if kept["schemas"][name] == nil {
				delete(mapping, k)
			}
		}
	}
	components := map[string]any{}
	for kind, m := range kept {
		components[kind] = m
	}
	return paths, components, nil
}
