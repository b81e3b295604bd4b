package approval

import (
	"encoding/json"
	"strings"

	"github.com/roster-dev/roster/schema/model"
)

// AccessFingerprint is everything of r that decides access, without source positions:
// two commits with the same fingerprint grant the same access to the same people at every
// time, so an approval given on one still holds for the other. Settings (the
// organisation's name, the forge) are left out, but not the lifecycle settings that move
// dates (provisionLeadDays, deleteAfterDays, timezone) nor maxRevocations.
func AccessFingerprint(r *model.Repo) string {
	v := map[string]any{
		"people": r.People, "roles": r.Roles, "rules": r.Rules, "conflicts": r.Conflicts, "systems": r.Systems,
		"serviceAccounts": r.ServiceAccounts, "revocations": r.Revocations, "certifications": r.Certifications,
		"lifecycle": []any{r.Settings.Timezone, r.Settings.ProvisionLeadDays, r.Settings.DeleteAfterDays, r.Settings.MaxRevocations.String()},
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "unmarshalable: " + err.Error() // never equal to a real fingerprint
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		return "unmarshalable: " + err.Error()
	}
	b, _ = json.Marshal(withoutPositions(tree))
	return string(b)
}

// withoutPositions drops every field whose name ends in Pos (source positions) from a
// decoded JSON tree.
func withoutPositions(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if strings.HasSuffix(k, "Pos") {
				delete(x, k)
				continue
			}
			x[k] = withoutPositions(e)
		}
	case []any:
		for i := range x {
			x[i] = withoutPositions(x[i])
		}
	}
	return v
}
