package moderation

import (
	"testing"

	"github.com/companion-go/companion/internal/leak"
)

func TestMain(m *testing.M) {
	leak.VerifyTestMain(m)
}
