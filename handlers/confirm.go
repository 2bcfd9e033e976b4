package handlers

import (
	"net/http"
	"net/url"
	"sort"

	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// secretFields are never written back into a confirmation page: a form that needs them is filled in again.
var secretFields = map[string]bool{"password": true, "password_confirm": true, "current": true, "content": true, "data": true,
	"key_pem": true, "cert_pem": true, "otp": true, "code": true, "token": true}

// askFirst reports whether a destructive page action was confirmed (confirmed=yes, which
// the page's script sets once the user said yes). If not, it answers with a page asking
// the question, whose form sends the same values again confirmed, and returns false:
// without JavaScript nothing is lost or done unasked.
func (h *Handlers) askFirst(c echo.Context, question, cancel string) (bool, error) {
	if c.FormValue("confirmed") == "yes" {
		return true, nil
	}
	form, _ := c.FormParams()
	var fields []views.KV
	keys := make([]string, 0, len(form))
	for k := range form {
		if k != "_csrf" && k != "confirmed" && !secretFields[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range form[k] {
			fields = append(fields, views.KV{Key: k, Value: v})
		}
	}
	if u, err := url.Parse(cancel); err != nil || u.Host != "" {
		cancel = "/"
	}
	p := h.page(c, "Please confirm", "")
	return false, h.render(c, http.StatusOK, p, views.ConfirmPage(p, views.Confirmation{Question: question, Action: c.Request().URL.Path, Fields: fields, Cancel: cancel}))
}
