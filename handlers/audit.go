package handlers

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// auditPageSize is how many records one page of the audit log shows.
const auditPageSize = 100

// auditFilterForm is the audit page's filter as typed.
type auditFilterForm struct {
	views.AuditFilter
	parsed store.AuditFilter
}

func parseAuditFilter(c echo.Context) auditFilterForm {
	f := auditFilterForm{AuditFilter: views.AuditFilter{
		Actor: strings.TrimSpace(c.QueryParam("actor")), Action: strings.TrimSpace(c.QueryParam("action")),
		Object: strings.TrimSpace(c.QueryParam("object")), From: c.QueryParam("from"), To: c.QueryParam("to"),
	}}
	f.parsed.Before, _ = strconv.ParseInt(c.QueryParam("before"), 10, 64)
	return f
}

// Validate checks the dates and lengths and fills the store filter.
func (f *auditFilterForm) Validate() bool {
	for name, v := range map[string]string{"actor": f.Actor, "action": f.Action, "object": f.Object} {
		if len(v) > 200 {
			f.Errors.Add(name, "Use at most 200 characters.")
		}
	}
	f.parsed.Actor, f.parsed.Action, f.parsed.Object = f.Actor, f.Action, f.Object
	if f.From != "" {
		t, err := time.Parse("2006-01-02", f.From)
		if err != nil {
			f.Errors.Add("from", "Use a date such as 2026-01-31.")
		}
		f.parsed.From = t
	}
	if f.To != "" {
		t, err := time.Parse("2006-01-02", f.To)
		if err != nil {
			f.Errors.Add("to", "Use a date such as 2026-01-31.")
		}
		f.parsed.To = t.AddDate(0, 0, 1) // the whole "to" day is included
	}
	if !f.parsed.From.IsZero() && !f.parsed.To.IsZero() && !f.parsed.From.Before(f.parsed.To) {
		f.Errors.Add("to", "The end date is before the start date.")
	}
	return !f.Errors.Any()
}

// query is the filter as URL parameters, for the export and paging links.
func (f *auditFilterForm) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"actor": f.Actor, "action": f.Action, "object": f.Object, "from": f.From, "to": f.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// AuditPage lists audit records newest first with filters.
func (h *Handlers) AuditPage(c echo.Context) error {
	f := parseAuditFilter(c)
	a := views.Audit{}
	status := http.StatusOK
	if f.Validate() {
		f.parsed.Limit = auditPageSize + 1
		recs, err := h.store.AuditRecords(c.Request().Context(), f.parsed)
		if err != nil {
			return err
		}
		if len(recs) > auditPageSize {
			recs = recs[:auditPageSize]
			q := f.query()
			q.Set("before", strconv.FormatInt(recs[len(recs)-1].ID, 10))
			a.NextURL = "/audit?" + q.Encode()
		}
		for _, r := range recs {
			a.Rows = append(a.Rows, views.AuditRow{At: views.FormatTime(r.At), Actor: r.Actor, Role: r.Role, Source: r.Source,
				Via: r.Via, Action: r.Action, Object: r.Object, Outcome: r.Outcome, Detail: r.Detail})
		}
	} else {
		status = http.StatusUnprocessableEntity
	}
	a.Filter = f.AuditFilter
	a.CSVURL = "/audit.csv?" + f.query().Encode()
	p := h.page(c, "Audit log", "audit")
	return h.render(c, status, p, views.AuditPage(p, a))
}

// AuditCSV exports every record matching the filter as CSV.
func (h *Handlers) AuditCSV(c echo.Context) error {
	f := parseAuditFilter(c)
	if !f.Validate() {
		return echo.NewHTTPError(http.StatusBadRequest, "The filter is not valid: check the dates on the Audit page.")
	}
	recs, err := h.store.AuditRecords(c.Request().Context(), f.parsed)
	if err != nil {
		return err
	}
	res := c.Response()
	res.Header().Set("Content-Type", "text/csv; charset=utf-8")
	res.Header().Set("Content-Disposition", `attachment; filename="berth-audit-`+time.Now().UTC().Format("20060102-150405")+`.csv"`)
	res.WriteHeader(http.StatusOK)
	w := csv.NewWriter(res)
	_ = w.Write([]string{"id", "time_utc", "actor", "role", "source", "via", "action", "object", "outcome", "detail"})
	for _, r := range recs {
		_ = w.Write([]string{strconv.FormatInt(r.ID, 10), r.At.UTC().Format(time.RFC3339Nano), csvSafe(r.Actor), r.Role, r.Source, r.Via,
			csvSafe(r.Action), csvSafe(r.Object), csvSafe(r.Outcome), csvSafe(r.Detail)})
	}
	w.Flush()
	return w.Error()
}

// csvSafe stops spreadsheet programs from treating a cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
