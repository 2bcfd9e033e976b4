package handlers

import (
	"net/http"

	"github.com/berthhq/berth/static"
	"github.com/labstack/echo/v4"
)

// staticFiles serves the embedded assets; their URLs carry a content hash, so they may be cached for a year.
func staticFiles() echo.HandlerFunc {
	fs := http.StripPrefix("/static/", http.FileServer(http.FS(static.Files)))
	return func(c echo.Context) error {
		if c.QueryParam("v") != "" {
			c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		fs.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}
