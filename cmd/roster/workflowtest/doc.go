// Package workflowtest lints what roster gives GitHub Actions users with actionlint: the
// workflows README.md shows and the composite action action.yml at the repository's root.
// It holds tests only, and is a module of its own: actionlint v1.7.12 is built against a
// release candidate of go.yaml.in/yaml/v4 whose API the final v4.0.0, which roster's module
// needs (kin-openapi), changed. It imports nothing of roster. make test runs it.
package workflowtest
