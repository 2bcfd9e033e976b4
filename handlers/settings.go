package handlers

import (
	"net/http"
	"strconv"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// SettingsPage shows the environment-wide settings.
func (h *Handlers) SettingsPage(c echo.Context) error {
	req, err := h.store.Require2FA(c.Request().Context())
	if err != nil {
		return err
	}
	p := h.page(c, "Settings", "settings")
	return h.render(c, http.StatusOK, p, views.SettingsPage(p, views.Settings{Require2FA: req, Notice: h.popNotice(c)}))
}

// SaveSettings stores the settings and records what changed.
func (h *Handlers) SaveSettings(c echo.Context) error {
	ctx := c.Request().Context()
	want := c.FormValue("require_2fa") == "true"
	was, err := h.store.Require2FA(ctx)
	if err != nil {
		return err
	}
	if want != was {
		if err := h.store.SetSetting(ctx, store.SettingRequire2FA, strconv.FormatBool(want)); err != nil {
			return err
		}
		h.audit(c, "settings.update", "setting:"+store.SettingRequire2FA, "ok", strconv.FormatBool(was)+" -> "+strconv.FormatBool(want))
	}
	return h.redirectNotice(c, "/settings", "Settings saved.")
}
