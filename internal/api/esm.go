package api

import (
	"net/http"

	"github.com/barge-run/barge/internal/esm"
)

// esmHandlers are Lambda's event source mapping operations, served by package esm.
func esmHandlers(e *esm.Service) map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"CreateEventSourceMapping": lambdaJSON(e.CreateEventSourceMapping, http.StatusAccepted),
		"GetEventSourceMapping":    lambdaJSON(e.GetEventSourceMapping, http.StatusOK),
		"UpdateEventSourceMapping": lambdaJSON(e.UpdateEventSourceMapping, http.StatusAccepted),
		"DeleteEventSourceMapping": lambdaJSON(e.DeleteEventSourceMapping, http.StatusAccepted),
		"ListEventSourceMappings":  lambdaJSON(e.ListEventSourceMappings, http.StatusOK),
	}
}
