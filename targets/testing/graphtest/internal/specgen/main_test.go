package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// csdl is a small metadata document in the shape of Graph's.
const csdl = `<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="microsoft.graph" Alias="graph" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <EnumType Name="color"><Member Name="red" Value="0"/><Member Name="blue" Value="1"/></EnumType>
      <ComplexType Name="license">
        <Property Name="disabledPlans" Type="Collection(Edm.Guid)" Nullable="false"/>
        <Property Name="skuId" Type="Edm.Guid"/>
      </ComplexType>
      <EntityType Name="entity" Abstract="true">
        <Key><PropertyRef Name="id"/></Key>
        <Property Name="id" Type="Edm.String" Nullable="false"/>
      </EntityType>
      <EntityType Name="directoryObject" BaseType="graph.entity">
        <Property Name="deletedDateTime" Type="Edm.DateTimeOffset"/>
      </EntityType>
      <EntityType Name="user" BaseType="graph.directoryObject">
        <Property Name="accountEnabled" Type="Edm.Boolean"/>
        <Property Name="licenses" Type="Collection(graph.license)" Nullable="false"/>
        <Property Name="favourite" Type="graph.color"/>
        <Property Name="age" Type="Edm.Int32" Nullable="false"/>
        <NavigationProperty Name="memberOf" Type="Collection(graph.directoryObject)"/>
        <NavigationProperty Name="photo" Type="graph.directoryObject" ContainsTarget="true"/>
      </EntityType>
      <EntityType Name="group" BaseType="graph.directoryObject">
        <Property Name="displayName" Type="Edm.String"/>
        <NavigationProperty Name="members" Type="Collection(graph.directoryObject)"/>
      </EntityType>
      <Action Name="assign" IsBound="true">
        <Parameter Name="bindingParameter" Type="graph.user" Nullable="false"/>
        <Parameter Name="add" Type="Collection(graph.license)" Nullable="false"/>
        <ReturnType Type="graph.user"/>
      </Action>
      <Action Name="revoke" IsBound="true">
        <Parameter Name="bindingParameter" Type="graph.user"/>
        <ReturnType Type="Edm.Boolean"/>
      </Action>
      <Action Name="restore" IsBound="true">
        <Parameter Name="bindingParameter" Type="graph.directoryObject"/>
        <ReturnType Type="graph.directoryObject"/>
        <Annotation Term="Org.OData.Core.V1.RequiresExplicitBinding"/>
      </Action>
      <EntityContainer Name="GraphService">
        <EntitySet Name="users" EntityType="microsoft.graph.user"/>
        <EntitySet Name="groups" EntityType="microsoft.graph.group">
          <Annotation Term="Org.OData.Capabilities.V1.InsertRestrictions"><Record><PropertyValue Property="Insertable" Bool="false"/></Record></Annotation>
        </EntitySet>
      </EntityContainer>
      <Annotations Target="microsoft.graph.GraphService/users">
        <Annotation Term="Org.OData.Capabilities.V1.SkipSupported" Bool="false"/>
      </Annotations>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>`

func generate(t *testing.T, ops ...operation) (map[string]any, error) {
	t.Helper()
	doc, err := Generate(strings.NewReader(csdl), ops, map[string]any{"file": "test"})
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out, nil
}

// at follows keys (and list indexes, as numbers) into v.
func at(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// TestGenerateRefusesWhatTheMetadataLacks: a path the metadata does not have, or an
// operation its annotations forbid, stops the generation.
func TestGenerateRefusesWhatTheMetadataLacks(t *testing.T) {
	tests := []struct {
		name string
		op   operation
		want string
	}{
		{"no such entity set", operation{"GET", "/applications"}, "no entity set or singleton"},
		{"no such navigation property", operation{"GET", "/users/{user-id}/manager"}, "no navigation property or bound action"},
		{"key named for another type", operation{"GET", "/users/{group-id}"}, "the key of microsoft.graph.user is {user-id}"},
		{"cast to an unrelated type", operation{"GET", "/groups/{group-id}/members/graph.license"}, "is not a type derived from"},
		{"$ref on a containment", operation{"POST", "/users/{user-id}/photo/$ref"}, "not a containment"},
		{"insert forbidden by InsertRestrictions", operation{"POST", "/groups"}, "not insertable"},
		{"action needing explicit binding", operation{"POST", "/users/{user-id}/memberOf/{directoryObject-id}/restore"}, "requires explicit binding"},
		{"delete through a navigation property not said deletable", operation{"DELETE", "/users/{user-id}/memberOf/{directoryObject-id}"}, "not make it deletable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := generate(t, tt.op)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Generate: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestGenerateDescribes: paths, parameters and schemas follow the conventions of
// Microsoft's conversion.
func TestGenerateDescribes(t *testing.T) {
	doc, err := generate(t,
		operation{"GET", "/users"}, operation{"GET", "/users/{user-id}"}, operation{"POST", "/users/{user-id}/assign"},
		operation{"POST", "/users/{user-id}/revoke"}, operation{"GET", "/users/{user-id}/memberOf/graph.group"},
		operation{"GET", "/groups/{group-id}/members"}, operation{"POST", "/groups/{group-id}/members/$ref"},
		operation{"DELETE", "/groups/{group-id}/members/{directoryObject-id}/$ref"})
	if err != nil {
		t.Fatal(err)
	}
	paths := at(doc, "paths")
	var names []string
	for _, p := range at(paths, "/users", "get", "parameters").([]any) {
		if ref, ok := at(p, "$ref").(string); ok {
			names = append(names, strings.TrimPrefix(ref, "#/components/parameters/"))
		} else {
			names = append(names, at(p, "name").(string))
		}
	}
	for _, tt := range []struct {
		name      string
		got, want any
	}{
		{"list parameters ($skip left out: SkipSupported false)", names, []string{"top", "search", "filter", "count", "$orderby", "$select", "$expand"}},
		{"$select of users: structural then navigation properties, base types first",
			at(paths, "/users", "get", "parameters", 5, "schema", "items", "enum"),
			[]any{"id", "deletedDateTime", "accountEnabled", "licenses", "favourite", "age", "memberOf", "photo"}},
		{"$select of members: a directory object's properties",
			at(paths, "/groups/{group-id}/members", "get", "parameters", 6, "schema", "items", "enum"), []any{"id", "deletedDateTime"}},
		{"key declared on the path item", at(paths, "/users/{user-id}", "parameters", 0, "name"), "user-id"},
		{"collection answer", at(paths, "/users/{user-id}/memberOf/graph.group", "get", "responses", "2XX", "$ref"), "#/components/responses/microsoft.graph.groupCollectionResponse"},
		{"pageable", at(paths, "/users", "get", "x-ms-pageable", "nextLinkName"), "@odata.nextLink"},
		{"error ranges", at(paths, "/users", "get", "responses", "4XX", "$ref"), "#/components/responses/error"},
		{"action body", at(paths, "/users/{user-id}/assign", "post", "requestBody", "content", "application/json", "schema", "properties", "add", "items", "$ref"), "#/components/schemas/microsoft.graph.license"},
		{"action returning an entity", at(paths, "/users/{user-id}/assign", "post", "responses", "2XX", "content", "application/json", "schema", "anyOf", 1, "nullable"), true},
		{"action returning a primitive", at(paths, "/users/{user-id}/revoke", "post", "responses", "2XX", "content", "application/json", "schema", "properties", "value", "type"), "boolean"},
		{"$ref body", at(paths, "/groups/{group-id}/members/$ref", "post", "requestBody", "$ref"), "#/components/requestBodies/refPostBody"},
		{"$ref delete", at(paths, "/groups/{group-id}/members/{directoryObject-id}/$ref", "delete", "parameters", 0, "name"), "If-Match"},
	} {
		if diff := cmp.Diff(tt.want, tt.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	schemas := at(doc, "components", "schemas")
	user := at(schemas, "microsoft.graph.user")
	for _, tt := range []struct {
		name      string
		got, want any
	}{
		{"derived type: allOf its base", at(user, "allOf", 0, "$ref"), "#/components/schemas/microsoft.graph.directoryObject"},
		{"nullable primitive", at(user, "allOf", 1, "properties", "accountEnabled"), map[string]any{"type": "boolean", "nullable": true}},
		{"non-nullable Int32", at(user, "allOf", 1, "properties", "age"), map[string]any{"type": "integer", "format": "int32", "minimum": -2147483648.0, "maximum": 2147483647.0}},
		{"nullable enum", at(user, "allOf", 1, "properties", "favourite", "anyOf", 0, "$ref"), "#/components/schemas/microsoft.graph.color"},
		{"collection of a complex type", at(user, "allOf", 1, "properties", "licenses", "items", "$ref"), "#/components/schemas/microsoft.graph.license"},
		{"no navigation properties", at(user, "allOf", 1, "properties", "memberOf"), nil},
		{"@odata.type", at(user, "allOf", 1, "properties", "@odata.type", "default"), "#microsoft.graph.user"},
		{"enum", at(schemas, "microsoft.graph.color", "enum"), []any{"red", "blue"}},
		{"Guid", at(schemas, "microsoft.graph.license", "properties", "skuId", "format"), "uuid"},
		{"discriminator", at(schemas, "microsoft.graph.directoryObject", "discriminator", "mapping"), map[string]any{
			"#microsoft.graph.group": "#/components/schemas/microsoft.graph.group", "#microsoft.graph.user": "#/components/schemas/microsoft.graph.user"}},
	} {
		if diff := cmp.Diff(tt.want, tt.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// published is a small OpenAPI description in the shape of Microsoft's openapi.yaml.
const published = `openapi: 3.0.4
info:
  title: OData Service for namespace microsoft.graph
  version: v1.0
servers:
  - url: https://graph.microsoft.com/v1.0
paths:
  /users:
    get:
      operationId: users.user.ListUser
      parameters:
        - $ref: '#/components/parameters/top'
      responses:
        2XX:
          $ref: '#/components/responses/microsoft.graph.userCollectionResponse'
        4XX:
          $ref: '#/components/responses/error'
  /devices:
    get:
      operationId: devices.device.ListDevice
      responses:
        2XX:
          description: Retrieved entity
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/microsoft.graph.device'
components:
  schemas:
    microsoft.graph.directoryObject:
      title: directoryObject
      type: object
      properties:
        id:
          type: string
      discriminator:
        propertyName: '@odata.type'
        mapping:
          '#microsoft.graph.user': '#/components/schemas/microsoft.graph.user'
          '#microsoft.graph.device': '#/components/schemas/microsoft.graph.device'
    microsoft.graph.user:
      allOf:
        - $ref: '#/components/schemas/microsoft.graph.directoryObject'
        - title: user
          type: object
          properties:
            accountEnabled:
              type: boolean
              nullable: true
            calendar:
              $ref: '#/components/schemas/microsoft.graph.calendar'
              x-ms-navigationProperty: true
    microsoft.graph.device:
      allOf:
        - $ref: '#/components/schemas/microsoft.graph.directoryObject'
    microsoft.graph.calendar:
      title: calendar
      type: object
    microsoft.graph.userCollectionResponse:
      type: object
      properties:
        value:
          type: array
          items:
            $ref: '#/components/schemas/microsoft.graph.user'
    odata.error:
      type: object
      required: [error]
      properties:
        error:
          type: object
  responses:
    microsoft.graph.userCollectionResponse:
      description: Retrieved collection
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/microsoft.graph.userCollectionResponse'
    error:
      description: error
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/odata.error'
  parameters:
    top:
      name: $top
      in: query
      schema:
        type: integer
        minimum: 0
`

// TestExtract: the operations are kept with what they reference, and nothing else;
// navigation properties are left out and discriminator mappings keep the types kept.
func TestExtract(t *testing.T) {
	path := filepath.Join(t.TempDir(), "openapi.yaml")
	if err := os.WriteFile(path, []byte(published), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := loadOpenAPI(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Extract(src, []operation{{"GET", "/users"}}, map[string]any{"file": "openapi.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for kind, m := range at(doc, "components").(map[string]any) {
		for name := range m.(map[string]any) {
			names = append(names, kind+"/"+name)
		}
	}
	sort.Strings(names)
	want := []string{"parameters/top", "responses/error", "responses/microsoft.graph.userCollectionResponse",
		"schemas/microsoft.graph.directoryObject", "schemas/microsoft.graph.user", "schemas/microsoft.graph.userCollectionResponse", "schemas/odata.error"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
	schemas := at(doc, "components", "schemas")
	if p := at(schemas, "microsoft.graph.user", "allOf", 1, "properties"); !cmp.Equal(p, map[string]any{"accountEnabled": map[string]any{"type": "boolean", "nullable": true}}) {
		t.Errorf("user properties %v: want the navigation property left out", p)
	}
	if m := at(schemas, "microsoft.graph.directoryObject", "discriminator", "mapping"); !cmp.Equal(m, map[string]any{"#microsoft.graph.user": "#/components/schemas/microsoft.graph.user"}) {
		t.Errorf("mapping %v: want only the user", m)
	}
	if ps := at(doc, "paths").(map[string]any); len(ps) != 1 || at(ps, "/users", "get", "operationId") != "users.user.ListUser" {
		t.Errorf("paths %v", ps)
	}
	for _, op := range []operation{{"GET", "/applications"}, {"POST", "/users"}} {
		if _, err := Extract(src, []operation{op}, nil); err == nil || !strings.Contains(err.Error(), "the description has no") {
			t.Errorf("Extract(%s %s): %v, want an error", op.method, op.path, err)
		}
	}
}

// TestExtractKeepsAGeneratedSubset: extracting the operations of a subset Generate made
// gives the same operations and components back.
func TestExtractKeepsAGeneratedSubset(t *testing.T) {
	ops := []operation{{"GET", "/users"}, {"POST", "/users/{user-id}/assign"}, {"GET", "/groups/{group-id}/members"}}
	gen, err := generate(t, ops...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Extract(gen, ops, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(gen["paths"], got["paths"]); diff != "" {
		t.Errorf("paths (-generated +extracted):\n%s", diff)
	}
	if diff := cmp.Diff(gen["components"], got["components"]); diff != "" {
		t.Errorf("components (-generated +extracted):\n%s", diff)
	}
}
