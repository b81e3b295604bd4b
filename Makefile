# roster — see README.md.
GO ?= go
BIN := bin

.PHONY: build deps test bench demo fuzz

build:
	$(GO) build -o $(BIN)/roster ./cmd/roster

# deps installs the servers the target tests run against, when missing (Debian; as root).
# The tests start their own instances on loopback ports in temp dirs.
DEB_PACKAGES := git slapd ldap-utils samba samba-ad-dc samba-ad-provision postgresql chromium
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@# Debian starts the packaged daemons; the tests run their own, so stop these.
	@-for s in slapd samba-ad-dc smbd nmbd winbind postgresql; do service $$s stop >/dev/null 2>&1; done; true

# test is what CI runs: formatting, vet, and every test with the race detector.
test: deps $(BIN)/cue
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	CUE=$(CURDIR)/$(BIN)/cue $(GO) test -race -count=1 ./...
	@# The README's workflows and action.yml, linted with actionlint (a module of its own).
	cd cmd/roster/workflowtest && $(GO) vet ./... && $(GO) test -race -count=1 ./...

# fuzz runs each fuzz target for FUZZTIME (the seeds always run as part of make test).
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./targets/csv -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./schema -run '^$$' -fuzz FuzzLoad -fuzztime $(FUZZTIME)

# demo validates the bundled example and prints its plan on the demo date, then starts slapd
# (127.0.0.1:3890) and PostgreSQL on loopback with live state drifted from examples/demo and
# runs plan, apply (printing the evidence) and plan again, which must be empty.
demo: build deps
	$(BIN)/roster validate --repo examples/acme
	$(BIN)/roster plan --repo examples/acme --at 2026-11-23
	$(GO) run ./cmd/roster-demo -roster ./$(BIN)/roster

# bench generates 10k/50k/100k/1M-person repos in a temporary directory and prints the
# medians of 3 alternating runs of validate and plan (wall time, peak memory, every run's
# wall and CPU time) beside cue vet on the same files (up to 100k), the re-validate-after-
# one-save figure and the goals (BENCHFLAGS adds flags: -ref OLD-ROSTER for ratios to an
# earlier build, -runs N, -sizes LIST); then
# the targets' figures against real servers (make deps installs them): plan against 100k
# LDAP accounts beside ldapsearch, apply throughput on slapd and PostgreSQL, emergency
# revoke latency across ldap + ad + postgres (cmd/roster/e2ebench runs bin/roster); and
# reading 20k SCIM users in 500 groups and 5k GitHub members in 200 teams, with request counts;
# roster history over 5,000 commits; an HR import of 10,000 rows against 10,000 people.
bench: build deps $(BIN)/cue
	$(GO) run ./cmd/roster-bench -roster ./$(BIN)/roster -cue ./$(BIN)/cue $(BENCHFLAGS)
	$(GO) test ./schema -run '^$$' -bench 'Load100k|RevalidateOneChangedFile100k' -benchtime 5x -benchmem
	ROSTER_BIN=$(CURDIR)/$(BIN)/roster $(GO) test ./cmd/roster/e2ebench ./targets/ldap ./targets/postgres -run '^$$' -bench . -benchtime 1x -timeout 60m
	$(GO) test ./targets/scim ./targets/github -run '^$$' -bench Read -benchtime 1x -timeout 30m
	$(GO) test ./reconcile/history -run '^$$' -bench History5000 -benchtime 3x -timeout 30m
	$(GO) test ./sources/hr -run '^$$' -bench Import10k -benchtime 5x -benchmem

$(BIN)/cue:
	GOBIN=$(CURDIR)/$(BIN) $(GO) install cuelang.org/go/cmd/cue@v0.17.1
