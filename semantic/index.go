package semantic

import "github.com/companion-go/companion/semantic/internal/index"

// HNSWConfig holds the settings of the HNSW indexes that large namespaces
// use (see [WithHNSW]); the zero value has every field at its default.
type HNSWConfig = index.HNSWConfig

// Errors of the vector indexes, returned by [Semantic.Put] for a vector it
// cannot hold.
var (
	// ErrDimension: a vector's length is not the index's.
	ErrDimension = index.ErrDimension
	// ErrInvalidVector: a vector is all zeros or holds a NaN or an
	// infinity.
	ErrInvalidVector = index.ErrInvalidVector
	// ErrInvalidConfig: a constructor or option was given an invalid
	// setting.
	ErrInvalidConfig = index.ErrInvalidConfig
)
