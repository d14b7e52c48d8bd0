package semantic

// Reason says why the semantic tier served a lookup or missed it; [Stats]
// counts lookups by reason and every [Decision] carries one.
type Reason string

// The reasons of a hit.
const (
	// ReasonExplained: the rules accounted for every difference between
	// the two questions (see [Explain]).
	ReasonExplained Reason = "explained"
	// ReasonVerified: the [Verifier] said the questions are the same.
	ReasonVerified Reason = "verified"
	// ReasonWithinBound: served without asking the verifier, where its
	// past answers put the upper confidence bound of the error at or
	// below [WithMaxError].
	ReasonWithinBound Reason = "within-bound"
)

// The reasons of a miss, in the order the matcher looks for them.
const (
	// ReasonNoCandidate: nothing cached in the namespace, or nothing at
	// all near the question.
	ReasonNoCandidate Reason = "no-candidate"
	// ReasonBelowThreshold: the most similar cached question is below
	// the similarity threshold.
	ReasonBelowThreshold Reason = "below-threshold"
	// ReasonNumber: the numbers differ ("2x+3=7" / "2x+3=9", "second" /
	// "third"); digits, number words and Chinese numerals compare by
	// value.
	ReasonNumber Reason = "number"
	// ReasonFormula: the formulas differ in more than their numbers
	// ("2x+3" / "2x-3"); symbols and operator words ("minus", "减",
	// "squared") compare as one.
	ReasonFormula Reason = "formula"
	// ReasonUnit: the units differ ("cm" / "m"), or a number has another
	// unit.
	ReasonUnit Reason = "unit"
	// ReasonNegation: one question is negated and the other is not.
	ReasonNegation Reason = "negation"
	// ReasonQuestion: they ask different things of the same content
	// ("who" / "when", "why" / "how"). Different when both name a
	// specific kind, unsure when one asks only "what".
	ReasonQuestion Reason = "question"
	// ReasonOrder: the same words in another order, which moves their
	// roles ("5 km to miles" / "5 miles to km", "猫怕狗" / "狗怕猫"); the two
	// sides of "and" may trade places.
	ReasonOrder Reason = "order"
	// ReasonAddition: one question adds words the other lacks ("plants"
	// / "desert plants"), which may narrow what is asked.
	ReasonAddition Reason = "addition"
	// ReasonTerm: a word of one question is not in the other and is not
	// a known synonym or spelling of one of its words.
	ReasonTerm Reason = "term"
	// ReasonVerifierNo: the verifier said the questions differ.
	ReasonVerifierNo Reason = "verifier-no"
	// ReasonVerifierError: the verifier failed; the tier fails closed.
	ReasonVerifierError Reason = "verifier-error"
	// ReasonUncertain: the verifier said yes, but its past answers in
	// this similarity band leave the error of that yes above
	// [WithMaxError].
	ReasonUncertain Reason = "uncertain"
	// ReasonLowYield: the candidate is below the verify threshold, in a
	// similarity band where the verifier has said yes too rarely to be
	// worth asking ([WithVerifyYield]).
	ReasonLowYield Reason = "low-yield"
)

// reasons lists every reason, for the counters.
var reasons = []Reason{
	ReasonExplained, ReasonVerified, ReasonWithinBound,
	ReasonNoCandidate, ReasonBelowThreshold, ReasonNumber, ReasonFormula, ReasonUnit,
	ReasonNegation, ReasonQuestion, ReasonOrder, ReasonAddition, ReasonTerm,
	ReasonVerifierNo, ReasonVerifierError, ReasonUncertain, ReasonLowYield,
}

func reasonIndex(r Reason) int {
	for i, x := range reasons {
		if x == r {
			return i
		}
	}
	return -1
}

// Explanation is what the rules make of a pair of questions, without an
// embedder or a verifier: see [Explain].
type Explanation struct {
	// Verdict: [Same] when every difference is explained, [Different]
	// when one proves them different, [Unsure] otherwise.
	Verdict Verdict
	// Reason is [ReasonExplained] for Same, else the difference found.
	Reason Reason
	// Detail names the difference: the words, numbers or classes on
	// each side ("\"australia\" / \"austria\""); empty for Same.
	Detail string
}

// Explain tells whether the answer cached for question cached answers
// question asked, by the rules alone. Two questions are the same when
// every difference between them is one of: a question frame or filler
// ("can you explain", "what does … say", "请问", "是什么"), a function
// word, an inflection or a British / American spelling, a number written
// in digits, words or Chinese numerals, a formula written in symbols or
// words ("x^2", "x squared", "x的平方"), a unit's spelling, a synonym of
// the embedded lexicon, the two English genitives ("Australia's
// capital", "the capital of Australia") or the two sides of "and"
// trading places; and they ask the same kind of question with the same
// content words, numbers, units and formulas in the same order. The
// lexicons are data files embedded in the package (lexicon/). Explain
// never fails and never panics, whatever the input.
func Explain(cached, asked string) Explanation {
	v, r, d := compare(analyze(cached), analyze(asked))
	return Explanation{Verdict: v, Reason: r, Detail: d}
}
