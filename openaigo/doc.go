// Package openaigo gives users of the official OpenAI Go SDK,
// github.com/openai/openai-go/v3, Companion's stages for their chat
// completion calls with one option:
//
//	client := openai.NewClient(
//		option.WithAPIKey(key),
//		option.WithMiddleware(openaigo.Middleware(c)), // c is a *companion.Companion
//	)
//
// Every POST to …/chat/completions, streamed or not, is answered by
// [companion.Companion.CreateChatCompletion] or
// [companion.Companion.CreateChatCompletionStream]: the cache, coalescing,
// the limiter, post-processing (moderation) and telemetry run as they do
// for a go-openai caller, and the result is encoded back as the HTTP
// response the SDK expects (JSON, or server-sent events flushed chunk by
// chunk and ending in "data: [DONE]"). Every other request — embeddings,
// files, batches, moderations, the stored-completion endpoints — goes to
// the next handler of the SDK untouched. [Handler] does the same as an
// [http.Handler], for clients in other languages (the official npm
// package, for one) pointed at a local OpenAI-compatible endpoint.
//
// # Which configuration answers
//
// A chat completion call is made by the Companion, with its own base URL,
// API key and HTTP client; the SDK's Authorization header, base URL,
// extra headers and query parameters are not used for it. The model is the
// request's (or the Companion's [companion.WithModel] when the request
// names none). Cancelling the SDK call's context stops the Companion's
// turn, streams included.
//
// # The request
//
// The body is decoded into go-openai's [openai.ChatCompletionRequest]. A
// request that type cannot carry faithfully is refused rather than sent
// with parts missing: the adapter encodes the decoded request again and
// compares it with the body, and a field that went missing or changed
// (a parameter go-openai does not know, an audio or file content part, an
// assistant message's audio) is answered 400 invalid_request_error, code
// "unsupported_parameter", param the field's path, for example
// "messages[1].content[0].input_audio". Fields whose value is the API's
// default (null, false, 0, "", {} or []) may be dropped; an explicit
// temperature or top_p of 0, which go-openai would drop in favour of the
// API's default of 1, is sent as the smallest positive float32. A "stop"
// given as one string is sent as a list of one.
//
// A body that is not valid UTF-8, not JSON, or not a JSON object, or that
// has a field of the wrong type, is answered 400 invalid_request_error in
// OpenAI's error shape, as the API does; a body over 32 MiB is answered
// 413.
//
// # Errors
//
// Errors are answered in OpenAI's shape, {"error": {"message", "type",
// "param", "code"}}, which the SDK turns into an *openai.Error, with these
// statuses:
//
//   - [*companion.UpstreamError] with a StatusCode: that status, and the
//     upstream's message, type, param and code when go-openai parsed them;
//     with its RetryAfter as Retry-After and retry-after-ms when the
//     upstream asked for a wait, as on [companion.ErrRateLimited]'s 429.
//   - [*companion.UpstreamError] without one (unreachable, malformed
//     answer, interrupted stream): 502, type "server_error", code
//     "upstream_unreachable", "upstream_malformed_response" or
//     "upstream_stream_interrupted".
//   - transport.ErrCircuitOpen: 503, type "server_error", code
//     "upstream_circuit_open".
//   - [*companion.InputError]: 400, type "invalid_request_error", param the
//     field in the API's spelling ("messages[2].role").
//   - [*companion.BlockedError]: 422, type "content_filter_error", code
//     "answer_blocked"; the message carries the verdict's reasons, never
//     the answer. Nothing of a blocked answer is sent.
//   - [companion.ErrClosed]: 503, type "server_error", code
//     "companion_closed".
//   - the context's error, when the call's context ended: returned by the
//     middleware as it is, so the SDK returns ctx.Err(); [Handler] answers
//     499 (cancelled) or 504 (deadline), which no client is waiting for.
//   - anything else: 500, type "server_error".
//
// Each error response carries x-request-id and "x-should-retry: false":
// Companion has already retried what its retry policy ([companion.WithRetry])
// retries, so the SDK does not retry on top of it and the policy's budget
// holds.
// An error after a stream has started is sent as an SSE event
// data: {"error": {…}}, which the SDK reports from the stream's Err; the
// stream then ends without [DONE].
//
// # Headers
//
// The response headers are those the mirrors report (go-openai's
// Header()): the upstream's (x-request-id, openai-processing-ms, the
// rate-limit headers, …) without the hop-by-hop and body-framing ones and
// Set-Cookie, and X-Companion-Source, which names the answer's source
// ("upstream", "exact", "semantic", …). When they have no x-request-id
// (a cache hit) the adapter makes one ("req_" and 32 hex digits), so every
// response, errors included, has one. Streams are sent with
// Cache-Control: no-cache and X-Accel-Buffering: no.
//
// A stream's status is sent with its first chunk that carries more than a
// role, so an error before any of the answer (the upstream's status, a
// block of the first words) is an HTTP error like a JSON call's.
//
// # Limits
//
// What is cached, and how a response is built, is what the mirrors do: see
// [companion.Companion.CreateChatCompletion]; requests with tools are never
// answered from the cache. Stream chunks carry no service_tier, which
// go-openai's chunk type has no field for; fields the API writes as null
// or [] where go-openai writes nothing ("refusal", "logprobs",
// "annotations") are left out, which the SDKs read alike.
package openaigo
