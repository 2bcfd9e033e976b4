package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"
)

// ssoRecheck is what a re-check of the provider's users found.
type ssoRecheck struct {
	Checked, Changed, Disabled int
	Unchecked                  []string // users it could not ask about, with why
}

// recheckSSOUsers asks the provider about each of its users again by renewing their last
// sign-in: one it refuses, or whose groups give no role, is disabled (sessions end, API
// tokens revoked); a changed role is applied. All audited as the admin who asked.
func (h *Handlers) recheckSSOUsers(c echo.Context) (ssoRecheck, error) {
	ctx := c.Request().Context()
	var out ssoRecheck
	set, p, cfg, err := h.ssoClient(ctx, c)
	if err != nil {
		return out, err
	}
	if !set.Enabled() {
		return out, echo.NewHTTPError(http.StatusConflict, "Single sign-on is not set up.")
	}
	users, err := h.store.Users(ctx)
	if err != nil {
		return out, err
	}
	for _, u := range users {
		if !u.SSO || u.Disabled {
			continue
		}
		refresh, err := h.store.SSORefresh(ctx, u.ID)
		if err != nil || refresh == "" {
			out.Unchecked = append(out.Unchecked, u.Username+" (no renewable sign-in kept: checked at their next sign-in)")
			continue
		}
		tok, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: refresh, Expiry: time.Now().Add(-time.Minute)}).Token()
		var refused *oauth2.RetrieveError
		if err != nil && !errors.As(err, &refused) {
			out.Unchecked = append(out.Unchecked, u.Username+" (the provider did not answer)")
			continue
		}
		out.Checked++
		reason := ""
		if err != nil {
			reason = "the provider no longer renews their sign-in (" + orText(refused.ErrorCode, refused.Response.Status) + ")"
		} else if id, err := h.ssoVerify(ctx, set, p, tok, ""); err != nil {
			reason = "the provider's answer did not check out: " + err.Error()
		} else if role := set.RoleFor(id.Groups); role == "" {
			reason = "their groups at the provider give no role (" + orText(strings.Join(id.Groups, ", "), "none") + ")"
		} else {
			if role != u.Role {
				if err := h.store.SetRole(ctx, u.ID, role); err != nil {
					return out, err
				}
				h.audit(c, "user.role", "user:"+u.Username, "ok", fmt.Sprintf("%s -> %s, from the groups at %s (re-check)", u.Role, role, set.Name))
				out.Changed++
			}
			if tok.RefreshToken != "" && tok.RefreshToken != refresh {
				if err := h.store.SetSSORefresh(ctx, u.ID, tok.RefreshToken); err != nil {
					return out, err
				}
			}
			continue
		}
		if err := h.disableSSOUser(ctx, c, u, reason); err != nil {
			return out, err
		}
		out.Disabled++
	}
	return out, nil
}

// disableSSOUser disables a provider user Berth may no longer let in: their sessions end and their API tokens are revoked.
func (h *Handlers) disableSSOUser(ctx context.Context, c echo.Context, u store.User, reason string) error {
	if err := h.store.SetDisabled(ctx, u.ID, true); err != nil {
		return err
	}
	n, err := h.store.RevokeAllAPITokens(ctx, u.ID)
	if err != nil {
		return err
	}
	h.store.SetSSORefresh(ctx, u.ID, "")
	h.audit(c, "user.disable", "user:"+u.Username, "ok", fmt.Sprintf("re-check: %s; sessions ended, %d API tokens revoked", reason, n))
	return nil
}

// RecheckSSO re-checks the provider's users from the single sign-on page.
func (h *Handlers) RecheckSSO(c echo.Context) error {
	r, err := h.recheckSSOUsers(c)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Re-checked %d provider users: %d roles changed, %d disabled.", r.Checked, r.Changed, r.Disabled)
	if len(r.Unchecked) > 0 {
		msg += " Not checked: " + strings.Join(r.Unchecked, "; ") + "."
	}
	return h.redirectNotice(c, "/settings/sso", msg)
}
