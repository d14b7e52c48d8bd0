// Package companiontest provides a fake OpenAI-compatible API server for
// tests, examples and load tests, in the manner of net/http/httptest.
//
// [NewServer] starts it on a random loopback port; point any OpenAI client
// at its URL. It serves chat completions (JSON, and SSE streams ending in
// "data: [DONE]"), embeddings, moderations, files and the whole batch
// lifecycle. Its answers are deterministic functions of the request (a small
// scripted tutor that knows some physics and maths in English and Chinese,
// whose explanations, templates and word lists are data files embedded from
// tutordata/), its token counts are real (tiktoken, offline encodings), its
// latency follows a [Latency] model and it injects [Fault]s on request. It
// records every request for assertions. Every response carries an
// x-request-id header, error responses included.
//
// What it does not do: n > 1 (a request with n other than 1 is answered
// 400, param "n"), tool definitions in the prompt token count, logprobs
// (always null). Tools are answered with a tool call when tool_choice asks
// for one (see the chat completion handler's doc in chat.go).
package companiontest
