package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// apiBodyLimit bounds JSON bodies (a config's 1000 KB as base64 fits).
const apiBodyLimit = 2 << 20

// bindJSON decodes a JSON body strictly: unknown fields and trailing data are refused.
func bindJSON(c echo.Context, v any) error {
	dec := json.NewDecoder(io.LimitReader(c.Request().Body, apiBodyLimit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := "The body is not valid JSON: " + err.Error()
		if errors.Is(err, io.EOF) {
			msg = "Send a JSON body."
		}
		return echo.NewHTTPError(http.StatusBadRequest, msg)
	}
	if dec.More() {
		return echo.NewHTTPError(http.StatusBadRequest, "Send one JSON object.")
	}
	return nil
}

// fieldErrors answers a request whose fields did not validate: 422 with a message per field.
func fieldErrors(c echo.Context, errs views.FieldErrors) error {
	return c.JSON(http.StatusUnprocessableEntity, map[string]any{"error": errs.String(), "fields": errs})
}

// apiTime formats a time for the API.
func apiTime(t interface{ Format(string) string }) string {
	return t.Format("2006-01-02T15:04:05Z07:00")
}
