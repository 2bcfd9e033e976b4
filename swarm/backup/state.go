package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/berthhq/berth/store"
)

// stateFile is the snapshot's copy of Berth's own records.
const stateFile = "berth-state.json"

// BerthState is Berth's own records as a snapshot keeps them: members (password hashes
// and two-factor secrets sealed for the snapshot), settings and the audit log.
type BerthState struct {
	Users    []UserCopy          `json:"users"`
	Settings map[string]string   `json:"settings"`
	Audit    []store.AuditRecord `json:"audit"`
}

// UserCopy is a member with what signs them in sealed.
type UserCopy struct {
	Username string     `json:"username"`
	Role     store.Role `json:"role"`
	Disabled bool       `json:"disabled"`
	Password []byte     `json:"sealed_password_hash"`
	TOTP     []byte     `json:"sealed_totp,omitempty"`
}

// writeState puts Berth's own records into the draft and names the file in the manifest.
func (r *Runner) writeState(ctx context.Context, draft Draft, m *Manifest) error {
	st, err := r.Vault.State(ctx)
	if err != nil {
		return err
	}
	var out BerthState
	out.Settings, out.Audit = st.Settings, st.Audit
	for _, u := range st.Users {
		c := UserCopy{Username: u.Username, Role: u.Role, Disabled: u.Disabled,
			Password: r.Keys.Seal([]byte(u.PasswordHash), sealContext(m.ID, "user-password", u.Username))}
		if u.TOTPSecret != nil {
			c.TOTP = r.Keys.Seal(u.TOTPSecret, sealContext(m.ID, "user-totp", u.Username))
		}
		out.Users = append(out.Users, c)
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return err
	}
	sum, err := writeDraftFile(draft, stateFile, raw)
	if err != nil {
		return err
	}
	m.State = &StateCopy{File: stateFile, SHA256: sum, Users: len(out.Users), AuditRecords: len(out.Audit)}
	return nil
}

// loadState reads and checks a snapshot's copy of Berth's records.
func (r *Runner) loadState(s Snapshot) (BerthState, error) {
	var st BerthState
	if s.State == nil {
		return st, errors.New("this snapshot holds no copy of Berth's own records (it was taken before Berth kept them)")
	}
	raw, err := r.readAll(s.ID, s.State.File)
	if err != nil {
		return st, err
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != s.State.SHA256 {
		return st, fmt.Errorf("%s %s (tampered with or damaged)", s.State.File, ErrChecksum)
	}
	return st, json.Unmarshal(raw, &st)
}

// RestoreState plans (apply false) or restores (apply true) Berth's own records from a
// snapshot: members missing here (with their passwords and two-factor), settings this
// Berth has not set, and the audit log's records (marked as imported).
func (r *Runner) RestoreState(ctx context.Context, id string, apply bool) ([]PlanItem, error) {
	s, err := r.Load(id)
	if err != nil {
		return nil, &RequestError{"snapshot", "There is no complete snapshot " + id + "."}
	}
	if s.Problem != "" {
		return nil, &RequestError{"snapshot", "This snapshot cannot be trusted: " + s.Problem + "."}
	}
	st, err := r.loadState(s)
	if err != nil {
		return nil, &RequestError{"snapshot", err.Error()}
	}
	have, err := r.Vault.State(ctx)
	if err != nil {
		return nil, err
	}
	members := map[string]bool{}
	for _, u := range have.Users {
		members[u.Username] = true
	}
	var plan []PlanItem
	for _, u := range st.Users {
		item := PlanItem{Kind: "member", Name: u.Username + " (" + string(u.Role) + ")", Action: "create"}
		if members[u.Username] {
			item.Action = "keep"
		} else if apply {
			item.Done = doneOrFailed(r.restoreUser(ctx, s.ID, u))
		}
		plan = append(plan, item)
	}
	keys := make([]string, 0, len(st.Settings))
	for k := range st.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		item := PlanItem{Kind: "setting", Name: k, Action: "create"}
		if _, set := have.Settings[k]; set {
			item.Action = "keep"
		} else if apply {
			_, err := r.Vault.RestoreSetting(ctx, k, st.Settings[k])
			item.Done = doneOrFailed(err)
		}
		plan = append(plan, item)
	}
	item := PlanItem{Kind: "audit log", Name: fmt.Sprintf("%d records up to %s", len(st.Audit), s.Started.UTC().Format(time.RFC3339)), Action: "import"}
	if apply {
		n, err := r.Vault.ImportAudit(ctx, st.Audit, "snapshot "+s.ID)
		item.Done = doneOrFailed(err)
		if err == nil {
			item.Done = fmt.Sprintf("imported %d records", n)
		}
	}
	return append(plan, item), nil
}

func (r *Runner) restoreUser(ctx context.Context, id string, u UserCopy) error {
	hash, err := r.Keys.Open(u.Password, sealContext(id, "user-password", u.Username))
	if err != nil {
		return errors.New("its sealed password does not open with this key")
	}
	e := store.UserExport{Username: u.Username, Role: u.Role, Disabled: u.Disabled, PasswordHash: string(hash)}
	if u.TOTP != nil {
		if e.TOTPSecret, err = r.Keys.Open(u.TOTP, sealContext(id, "user-totp", u.Username)); err != nil {
			return errors.New("its sealed two-factor secret does not open with this key")
		}
	}
	return r.Vault.RestoreUser(ctx, e)
}

func doneOrFailed(err error) string {
	if err != nil {
		return "failed: " + err.Error()
	}
	return "created"
}
