package handlers

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// settingsModel reads the settings for the page.
func (h *Handlers) settingsModel(c echo.Context) (views.Settings, error) {
	ctx := c.Request().Context()
	req, err := h.store.Require2FA(ctx)
	if err != nil {
		return views.Settings{}, err
	}
	term, err := h.store.Terminal(ctx)
	if err != nil {
		return views.Settings{}, err
	}
	limit, err := h.store.UploadLimit(ctx)
	if err != nil {
		return views.Settings{}, err
	}
	dns, err := h.store.DomainChecks(ctx)
	if err != nil {
		return views.Settings{}, err
	}
	return views.Settings{Require2FA: req, RecordTerminals: term.Record, IdleMinutes: strconv.Itoa(int(term.IdleTimeout.Minutes())),
		MaxHours: strconv.Itoa(int(term.MaxSession.Hours())), UploadLimitGB: strconv.FormatInt(limit>>30, 10),
		PublicAddress: dns.PublicAddress, DNSBlocking: dns.Blocking, BackupMinutes: strconv.Itoa(int(h.backupInterval(ctx).Minutes())),
		Notice: h.popNotice(c)}, nil
}

// SettingsPage shows the environment-wide settings.
func (h *Handlers) SettingsPage(c echo.Context) error {
	m, err := h.settingsModel(c)
	if err != nil {
		return err
	}
	p := h.page(c, "Settings", "settings")
	return h.render(c, http.StatusOK, p, views.SettingsPage(p, m))
}

// SaveSettings stores the settings and records each change.
func (h *Handlers) SaveSettings(c echo.Context) error {
	ctx := c.Request().Context()
	current, err := h.settingsModel(c)
	if err != nil {
		return err
	}
	// A number left out of the form keeps its current value.
	form := views.Settings{Require2FA: c.FormValue("require_2fa") == "true", RecordTerminals: c.FormValue("record_terminals") == "true",
		IdleMinutes:   orText(strings.TrimSpace(c.FormValue("terminal_idle_minutes")), current.IdleMinutes),
		MaxHours:      orText(strings.TrimSpace(c.FormValue("terminal_max_hours")), current.MaxHours),
		UploadLimitGB: orText(strings.TrimSpace(c.FormValue("upload_limit_gb")), current.UploadLimitGB),
		BackupMinutes: orText(strings.TrimSpace(c.FormValue("backup_interval_minutes")), current.BackupMinutes),
		PublicAddress: strings.TrimSpace(c.FormValue("public_address")), DNSBlocking: c.FormValue("dns_check_blocking") == "true"}
	if _, ok := c.Request().Form["public_address"]; !ok {
		form.PublicAddress = current.PublicAddress
	}
	if form.PublicAddress != "" && net.ParseIP(form.PublicAddress) == nil {
		form.Errors.Add("public_address", "Enter an IP address, such as 203.0.113.10.")
	}
	if form.DNSBlocking && form.PublicAddress == "" {
		form.Errors.Add("public_address", "Set the public address before making the DNS check blocking.")
	}
	for field, bounds := range map[string][2]int{"terminal_idle_minutes": {1, 1440}, "terminal_max_hours": {1, 72}, "upload_limit_gb": {1, 1000}, "backup_interval_minutes": {5, 1440}} {
		v := map[string]string{"terminal_idle_minutes": form.IdleMinutes, "terminal_max_hours": form.MaxHours, "upload_limit_gb": form.UploadLimitGB,
			"backup_interval_minutes": form.BackupMinutes}[field]
		if n, err := strconv.Atoi(v); err != nil || n < bounds[0] || n > bounds[1] {
			form.Errors.Add(field, fmt.Sprintf("Enter a whole number from %d to %d.", bounds[0], bounds[1]))
		}
	}
	if form.Errors.Any() {
		p := h.page(c, "Settings", "settings")
		return h.render(c, http.StatusUnprocessableEntity, p, views.SettingsPage(p, form))
	}
	for key, want := range map[string]string{
		store.SettingRequire2FA: strconv.FormatBool(form.Require2FA), store.SettingRecordTerminals: strconv.FormatBool(form.RecordTerminals),
		store.SettingTerminalIdleMins: form.IdleMinutes, store.SettingTerminalMaxHours: form.MaxHours,
		store.SettingUploadLimitGB: form.UploadLimitGB, store.SettingPublicAddress: form.PublicAddress,
		store.SettingDNSBlocking: strconv.FormatBool(form.DNSBlocking), store.SettingBackupMinutes: form.BackupMinutes,
	} {
		was, err := h.store.Setting(ctx, key, "")
		if err != nil {
			return err
		}
		if was == want || (was == "" && isDefaultSetting(key, want)) {
			continue
		}
		if err := h.store.SetSetting(ctx, key, want); err != nil {
			return err
		}
		h.audit(c, "settings.update", "setting:"+key, "ok", orText(was, defaultSetting(key))+" -> "+want)
	}
	return h.redirectNotice(c, "/settings", "Settings saved.")
}

// defaultSetting is a setting's value before anyone set it.
func defaultSetting(key string) string {
	return map[string]string{store.SettingRequire2FA: "false", store.SettingRecordTerminals: "false",
		store.SettingTerminalIdleMins: "15", store.SettingTerminalMaxHours: "8", store.SettingUploadLimitGB: "10",
		store.SettingPublicAddress: "", store.SettingDNSBlocking: "false", store.SettingBackupMinutes: "60"}[key]
}

func isDefaultSetting(key, v string) bool { return defaultSetting(key) == v }
