package transporttest_test

import (
	"fmt"

	"github.com/companion-go/companion/transport/internal/transporttest"
)

func ExampleHostPort() {
	fmt.Println(transporttest.HostPort("https://127.0.0.1:8443/v1"))
	// Output: 127.0.0.1:8443
}
