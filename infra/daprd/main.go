// Command daprd is Dapr's sidecar built from the upstream module, plus the three
// alpha components CareGrid needs that the `stablecomponents` tag leaves out.
package main

import (
	"context"

	"github.com/dapr/components-contrib/bindings/smtp"
	contribmiddleware "github.com/dapr/components-contrib/middleware"
	"github.com/dapr/components-contrib/middleware/http/opa"
	"github.com/dapr/components-contrib/nameresolution/sqlite"
	"github.com/dapr/dapr/cmd/daprd/app"
	bindingsLoader "github.com/dapr/dapr/pkg/components/bindings"
	httpMiddlewareLoader "github.com/dapr/dapr/pkg/components/middleware/http"
	nrLoader "github.com/dapr/dapr/pkg/components/nameresolution"
	"github.com/dapr/dapr/pkg/middleware"
	"github.com/dapr/kit/logger"
)

func init() {
	// OPA verifies JWTs in the gateway sidecar's httpPipeline.
	httpMiddlewareLoader.DefaultRegistry.RegisterComponent(func(log logger.Logger) httpMiddlewareLoader.FactoryMethod {
		return func(metadata contribmiddleware.Metadata) (middleware.HTTP, error) {
			return opa.NewMiddleware(log).GetHandler(context.TODO(), metadata)
		}
	}, "opa")
	// mDNS does not work on a loopback-only host; sqlite name resolution does.
	nrLoader.DefaultRegistry.RegisterComponent(sqlite.NewResolver, "sqlite")
	// notification-service sends mail through the `mail` output binding (bindings.smtp).
	bindingsLoader.DefaultRegistry.RegisterOutputBinding(smtp.NewSMTP, "smtp")
}

func main() {
	app.Run()
}
