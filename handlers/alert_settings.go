package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/swarm/alerts"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

func settingsForm(s alerts.Settings) views.AlertSettingsForm {
	f := views.AlertSettingsForm{DegradedMinutes: strconv.Itoa(int(s.DegradedFor.Minutes())), RestartFailures: strconv.Itoa(s.RestartFailures),
		CertDays: strconv.Itoa(s.CertDays), DiskPercent: strconv.Itoa(int(s.DiskPercent)), RepeatHours: strconv.Itoa(int(s.RepeatEvery.Hours())),
		MemoryPercent: strconv.Itoa(int(s.MemoryPercent)), MemoryMinutes: strconv.Itoa(int(s.MemoryFor.Minutes()))}
	f.Kinds = kindSwitches(func(k string) bool { return !s.Off[k] })
	return f
}

// kindSwitches lists every kind of alert in a stable order with whether it is on.
func kindSwitches(on func(kind string) bool) []views.KindSwitch {
	kinds := make([]string, 0, len(alerts.Kinds))
	for k := range alerts.Kinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	out := make([]views.KindSwitch, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, views.KindSwitch{Kind: k, Words: alerts.Kinds[k], On: on(k)})
	}
	return out
}

// SaveAlertSettings stores the thresholds, each checked, audited.
func (h *Handlers) SaveAlertSettings(c echo.Context) error {
	f := views.AlertSettingsForm{DegradedMinutes: c.FormValue("degraded_minutes"), RestartFailures: c.FormValue("restart_failures"),
		CertDays: c.FormValue("cert_days"), DiskPercent: c.FormValue("disk_percent"), RepeatHours: c.FormValue("repeat_hours"),
		MemoryPercent: c.FormValue("memory_percent"), MemoryMinutes: c.FormValue("memory_minutes"), Errors: views.FieldErrors{}}
	num := func(field, text string, low, high int) int {
		n, err := strconv.Atoi(strings.TrimSpace(text))
		if err != nil || n < low || n > high {
			f.Errors.Add(field, fmt.Sprintf("Enter a whole number from %d to %d.", low, high))
		}
		return n
	}
	off := map[string]bool{}
	f.Kinds = kindSwitches(func(k string) bool { return c.FormValue("on_"+k) == "on" })
	for _, k := range f.Kinds {
		if !k.On {
			off[k.Kind] = true
		}
	}
	s := alerts.Settings{DegradedFor: time.Duration(num("degraded_minutes", f.DegradedMinutes, 1, 1440)) * time.Minute,
		RestartFailures: num("restart_failures", f.RestartFailures, 1, 1000), CertDays: num("cert_days", f.CertDays, 1, 90),
		DiskPercent: float64(num("disk_percent", f.DiskPercent, 50, 99)), RepeatEvery: time.Duration(num("repeat_hours", f.RepeatHours, 1, 168)) * time.Hour, Off: off,
		MemoryPercent: float64(num("memory_percent", f.MemoryPercent, 50, 100)), MemoryFor: time.Duration(num("memory_minutes", f.MemoryMinutes, 1, 1440)) * time.Minute}
	if f.Errors.Any() {
		return h.renderAlerts(c, http.StatusUnprocessableEntity, func(v *views.AlertsView) { v.Settings = f })
	}
	b, _ := json.Marshal(s)
	if err := h.store.SetSetting(c.Request().Context(), alerts.SettingsKey, string(b)); err != nil {
		return err
	}
	var offList []string
	for k := range off {
		offList = append(offList, k)
	}
	sort.Strings(offList)
	h.audit(c, "alert.settings", "alerts", "ok", fmt.Sprintf("degraded %s, restart loop %d, certificates %d days, disk %.0f %%, memory %.0f %% for %s, repeat %s, off: %s",
		s.DegradedFor, s.RestartFailures, s.CertDays, s.DiskPercent, s.MemoryPercent, s.MemoryFor, s.RepeatEvery, strings.Join(append(offList, "none")[:max(1, len(offList))], ", ")))
	return h.redirectNotice(c, "/alerts", "Saved when to alert.")
}
