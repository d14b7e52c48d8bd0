// Package conformance holds tests that check companiontest against
// independent definitions of the OpenAI API: OpenAI's own OpenAPI
// document (validated with libopenapi-validator) and the official openai-go
// SDK as a client. They live in a module of their own so that the
// library's go.mod lists neither.
package conformance
