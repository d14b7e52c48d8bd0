// Package prompt counts tokens as the OpenAI API bills them, with the
// tiktoken encodings compiled into the binary (nothing is downloaded at run
// time).
//
// A [Counter] counts text and chat messages for the encoding a model uses:
// o200k_base for gpt-4o, gpt-4.1, gpt-5 and the o-series, cl100k_base for
// older models. Counters are safe for concurrent use and shared per encoding.
package prompt
