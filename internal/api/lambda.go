package api

import (
	"context"
	"fmt"
	"maps"
	"net/http"

	"github.com/barge-run/barge/internal/awserr"
	lw "github.com/barge-run/barge/internal/awstypes/lambda"
)

// lambdaHandlers are the implemented Lambda operations, by model name.
func (s *Server) lambdaHandlers() map[string]http.HandlerFunc {
	l := s.cfg.Lambda
	h := map[string]http.HandlerFunc{
		"CreateFunction": restHandlerDecode(l.CreateFunction, http.StatusCreated, lambdaParamError, decodeWithZip(func(in *lw.CreateFunctionRequest, pkg []byte) {
			if in.Code == nil {
				in.Code = &lw.FunctionCode{}
			}
			in.Code.ZipFile = pkg
		}, "Code")),
		"GetFunction":                        lambdaJSON(l.GetFunction, http.StatusOK),
		"GetFunctionConfiguration":           lambdaJSON(l.GetFunctionConfiguration, http.StatusOK),
		"ListFunctions":                      lambdaJSON(l.ListFunctions, http.StatusOK),
		"DeleteFunction":                     lambdaJSON(l.DeleteFunction, http.StatusNoContent),
		"Invoke":                             lambdaInvoke(l.Invoke),
		"UpdateFunctionCode":                 restHandlerDecode(l.UpdateFunctionCode, http.StatusOK, lambdaParamError, decodeWithZip(func(in *lw.UpdateFunctionCodeRequest, pkg []byte) { in.ZipFile = pkg })),
		"UpdateFunctionConfiguration":        lambdaJSON(l.UpdateFunctionConfiguration, http.StatusOK),
		"PutFunctionConcurrency":             lambdaJSON(l.PutFunctionConcurrency, http.StatusOK),
		"GetFunctionConcurrency":             lambdaJSON(l.GetFunctionConcurrency, http.StatusOK),
		"DeleteFunctionConcurrency":          lambdaJSON(l.DeleteFunctionConcurrency, http.StatusNoContent),
		"PublishVersion":                     lambdaJSON(l.PublishVersion, http.StatusCreated),
		"ListVersionsByFunction":             lambdaJSON(l.ListVersionsByFunction, http.StatusOK),
		"CreateAlias":                        lambdaJSON(l.CreateAlias, http.StatusCreated),
		"GetAlias":                           lambdaJSON(l.GetAlias, http.StatusOK),
		"UpdateAlias":                        lambdaJSON(l.UpdateAlias, http.StatusOK),
		"DeleteAlias":                        lambdaJSON(l.DeleteAlias, http.StatusNoContent),
		"ListAliases":                        lambdaJSON(l.ListAliases, http.StatusOK),
		"PutFunctionEventInvokeConfig":       lambdaJSON(l.PutFunctionEventInvokeConfig, http.StatusOK),
		"GetFunctionEventInvokeConfig":       lambdaJSON(l.GetFunctionEventInvokeConfig, http.StatusOK),
		"DeleteFunctionEventInvokeConfig":    lambdaJSON(l.DeleteFunctionEventInvokeConfig, http.StatusNoContent),
		"UpdateFunctionEventInvokeConfig":    lambdaJSON(l.UpdateFunctionEventInvokeConfig, http.StatusOK),
		"ListFunctionEventInvokeConfigs":     lambdaJSON(l.ListFunctionEventInvokeConfigs, http.StatusOK),
		"GetAccountSettings":                 lambdaJSON(l.GetAccountSettings, http.StatusOK),
		"TagResource":                        lambdaJSON(l.TagResource, http.StatusNoContent),
		"UntagResource":                      lambdaJSON(l.UntagResource, http.StatusNoContent),
		"ListTags":                           lambdaJSON(l.ListTags, http.StatusOK),
		"PutProvisionedConcurrencyConfig":    lambdaJSON(l.PutProvisionedConcurrencyConfig, http.StatusAccepted),
		"GetProvisionedConcurrencyConfig":    lambdaJSON(l.GetProvisionedConcurrencyConfig, http.StatusOK),
		"DeleteProvisionedConcurrencyConfig": lambdaJSON(l.DeleteProvisionedConcurrencyConfig, http.StatusNoContent),
		"ListProvisionedConcurrencyConfigs":  lambdaJSON(l.ListProvisionedConcurrencyConfigs, http.StatusOK),
		"CreateFunctionUrlConfig":            lambdaJSON(l.CreateFunctionUrlConfig, http.StatusCreated),
		"GetFunctionUrlConfig":               lambdaJSON(l.GetFunctionUrlConfig, http.StatusOK),
		"UpdateFunctionUrlConfig":            lambdaJSON(l.UpdateFunctionUrlConfig, http.StatusOK),
		"DeleteFunctionUrlConfig":            lambdaJSON(l.DeleteFunctionUrlConfig, http.StatusNoContent),
		"ListFunctionUrlConfigs":             lambdaJSON(l.ListFunctionUrlConfigs, http.StatusOK),
		"AddPermission":                      lambdaJSON(l.AddPermission, http.StatusCreated),
		"GetPolicy":                          lambdaJSON(l.GetPolicy, http.StatusOK),
		"RemovePermission":                   lambdaJSON(l.RemovePermission, http.StatusNoContent),
		"PublishLayerVersion": restHandlerDecode(l.PublishLayerVersion, http.StatusCreated, lambdaParamError, decodeWithZip(func(in *lw.PublishLayerVersionRequest, pkg []byte) {
			if in.Content == nil {
				in.Content = &lw.LayerVersionContentInput{}
			}
			in.Content.ZipFile = pkg
		}, "Content")),
		"GetLayerVersion":              lambdaJSON(l.GetLayerVersion, http.StatusOK),
		"GetLayerVersionByArn":         lambdaJSON(l.GetLayerVersionByArn, http.StatusOK),
		"ListLayerVersions":            lambdaJSON(l.ListLayerVersions, http.StatusOK),
		"ListLayers":                   lambdaJSON(l.ListLayers, http.StatusOK),
		"DeleteLayerVersion":           lambdaJSON(l.DeleteLayerVersion, http.StatusNoContent),
		"AddLayerVersionPermission":    lambdaJSON(l.AddLayerVersionPermission, http.StatusCreated),
		"GetLayerVersionPolicy":        lambdaJSON(l.GetLayerVersionPolicy, http.StatusOK),
		"RemoveLayerVersionPermission": lambdaJSON(l.RemoveLayerVersionPermission, http.StatusNoContent),
		"GetFunctionCodeSigningConfig": lambdaJSON(l.GetFunctionCodeSigningConfig, http.StatusOK),
	}
	// Event source mappings (esm.go); listed too when no service is wired (the operations list).
	if s.cfg.ESM != nil || s.cfg.Lambda == nil {
		maps.Copy(h, esmHandlers(s.cfg.ESM))
	}
	return h
}

// ImplementedLambdaOperations lists the Lambda operations barge serves.
func ImplementedLambdaOperations() []string { return names((&Server{}).lambdaHandlers()) }

// routeLambda registers every operation of the Lambda model; the unimplemented ones answer a
// clear error in Lambda's own shape.
func (s *Server) routeLambda() {
	impl := map[string]http.HandlerFunc{}
	if s.cfg.Lambda != nil {
		impl = s.lambdaHandlers()
	}
	s.routeModel("lambda", lambdaBound, lw.Operations, impl, func(op string) *awserr.Error {
		return lambdaParamError(fmt.Errorf("barge does not implement the Lambda operation %s yet (see docs/compatibility.md)", op))
	})
}

// lambdaParamError is Lambda's error for a bad request member.
func lambdaParamError(err error) *awserr.Error {
	e := awserr.New(http.StatusBadRequest, "InvalidParameterValueException", "%v", err)
	e.Fields = map[string]string{"Type": "User"}
	return e
}

// lambdaJSON adapts a Lambda service method with the model's success status.
func lambdaJSON[In, Out any](fn func(context.Context, string, *In) (*Out, error), status int) http.HandlerFunc {
	return restHandler(fn, status, lambdaParamError)
}

// lambdaInvoke serves Invoke: the request body is the event, the response body the function's
// answer, metadata in headers.
func lambdaInvoke(fn func(context.Context, string, *lw.InvocationRequest) (*lw.InvocationResponse, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := fromContext(r.Context())
		in := &lw.InvocationRequest{Payload: req.body}
		out, ok := callLocated(w, r, req, in, fn, lambdaParamError)
		if !ok {
			return
		}
		code := writeLocation(w, out, http.StatusOK)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write(out.Payload)
	}
}
