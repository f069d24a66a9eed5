"""Deterministic intent extraction: the phrases users type about an LLM deployment, read with rules and the catalog.

`extract(text, catalog, expecting=...)` returns an `Extraction`: the `DeploymentIntent` the text states, one `Finding`
per value with the words it came from, whether the user said they don't know, and notes on what was read loosely or
ignored. It never invents a value: anything it cannot tie to the user's words stays absent. The text is data only;
nothing in it is followed as an instruction.

Reading order: GPU and model names first (so "A100 80GB" or "llama 3.1 8b" are not read as quantities), then
quantisation words, then every number by its unit ("1k users", "$5k/month", "TTFT 300 ms", "50 rps", "2000 token
prompts"), then words (pricing, ownership, priority, use case) and finally the bare answer to the question just asked.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.intent.schema import LIST_FIELDS, SLOT_FIELDS, DeploymentIntent, IntentUpdate
from kb.domain import ModelSpec, PricingModel, Quantization
from kb.errors import NotFoundError
from kb.repositories.catalog import CatalogSnapshot
from tools.specs import DeploymentModel, Priority

MAX_CHARS: Final = 10_000
FindingValue = str | int | float | list[str]


class Finding(BaseModel):
    """One value read from the text, with the words it came from."""

    model_config = ConfigDict(frozen=True)

    field: str
    value: FindingValue
    span: str


class Extraction(BaseModel):
    """What one message states."""

    model_config = ConfigDict(frozen=True)

    intent: DeploymentIntent
    findings: list[Finding] = Field(default_factory=list)
    dont_know: bool = False
    replace: list[str] = Field(default_factory=list, description="List fields the message replaces ('only L4s')")
    clear: list[str] = Field(default_factory=list, description="Fields the message lifts ('any GPU is fine')")
    notes: list[str] = Field(default_factory=list, description="What was read loosely or ignored, for the user")

    def update(self) -> IntentUpdate:
        """This message as an edit of the running intent."""
        return IntentUpdate(set=self.intent, clear=self.clear, replace=self.replace)

    def found_fields(self) -> list[str]:
        """Fields with a finding, in reading order (a field may repeat)."""
        return [f.field for f in self.findings]


# --------------------------------------------------------------------------------------------------- vocabulary

SLOT_ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "budget": "budget_usd_month",
        "cost": "budget_usd_month",
        "ttft": "ttft_p95_ms",
        "latency": "ttft_p95_ms",
        "itl": "itl_p95_ms",
        "e2e": "e2e_p95_ms",
        "tokens": "prompt_tokens",
        "prompt": "prompt_tokens",
        "output": "output_tokens",
        "traffic": "qps",
        "rps": "qps",
        "scale": "users",
        "gpu": "gpus",
        "model": "models",
        "quantisation": "quantization",
        "power": "power_cost_per_kwh",
        "electricity": "power_cost_per_kwh",
        "pricing": "pricing_model",
        "deployment": "deployment_model",
        "ownership": "deployment_model",
    }
)

# Words people use for a use case beyond the templates' synonyms; applied only to use cases the catalog has.
EXTRA_USE_CASE_PHRASES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    (
        "chatbot_conversational",
        ("chat", "chat app", "chat assistant", "chat interface", "support bot", "customer support chatbot", "helpbot"),
    ),
    ("code_completion", ("auto complete", "autocompletion", "code autocomplete", "inline completion", "tab complete")),
    (
        "code_generation_detailed",
        (
            "generate code",
            "code gen",
            "codegen",
            "code assistant",
            "writing code",
            "sql generation",
            "generate sql",
            "text to sql",
            "text-to-sql",
            "sql assistant",
            "write sql",
            "sql queries",
        ),
    ),
    ("translation", ("translator", "translate documents")),
    ("content_generation", ("marketing content", "content writing", "write articles", "blog writing")),
    (
        "document_analysis_rag",
        (
            "retrieval",
            "internal documents",
            "company documents",
            "search our documents",
            "document search",
            "q&a over",
            "questions over",
            "over pdfs",
            "over our pdfs",
            "knowledge base",
            "our docs",
        ),
    ),
    (
        "long_document_summarization",
        (
            "long documents",
            "long document",
            "long reports",
            "lengthy documents",
            "long pdfs",
            "long transcripts",
            "page documents",
            "page reports",
            "page contracts",
            "hundreds of pages",
            "long contracts",
        ),
    ),
    ("research_legal_analysis", ("legal", "law firm", "contracts", "case law", "legal documents")),
)
GENERIC_USE_CASES: Final = frozenset({"chatbot_conversational"})

_SMALL_WORDS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "a": 1,
        "an": 1,
        "one": 1,
        "two": 2,
        "three": 3,
        "four": 4,
        "five": 5,
        "six": 6,
        "seven": 7,
        "eight": 8,
        "nine": 9,
        "ten": 10,
        "eleven": 11,
        "twelve": 12,
        "fifteen": 15,
        "sixteen": 16,
        "twenty": 20,
        "thirty": 30,
        "forty": 40,
        "fifty": 50,
        "sixty": 60,
        "seventy": 70,
        "eighty": 80,
        "ninety": 90,
    }
)
_SCALES: Final[Mapping[str, float]] = MappingProxyType(
    {"hundred": 1e2, "thousand": 1e3, "grand": 1e3, "million": 1e6, "mil": 1e6, "billion": 1e9}
)
_MULTS: Final[Mapping[str, float]] = MappingProxyType({"k": 1e3, "m": 1e6, "mm": 1e6, "b": 1e9, "bn": 1e9})
_WORDS_RE: Final = "|".join(sorted(_SMALL_WORDS, key=len, reverse=True))
_TIMES: Final = r"[x\u00d7*]"

_NUM = re.compile(
    r"(?<![a-z0-9.,])(?P<digits>(?:[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
    r"(?:e[+-]?[0-9]+)?)"
    r"(?:(?P<mult>k|mm|m|bn|b)\b|\s*(?P<scale>hundred|thousand|grand|million|mil|billion)\b)?"
)
_WORD_NUM = re.compile(
    rf"\b(?P<lead>(?:half\s+an?|a\s+few|a\s+couple(?:\s+of)?|several|(?:(?:{_WORDS_RE})[\s-]+){{1,3}}))\s*"
    r"(?P<scale>(?:hundred|thousand|million|billion)(?:\s+(?:thousand|million))?)\b"
)
# Spelled-out durations: "half a second", "a quarter second", "two seconds", "one and a half seconds". The match is
# the amount only; the unit that must follow it is read by the duration reader like any digit's unit.
_WORD_DURATION = re.compile(
    rf"\b(?P<lead>half\s+an?|an?\s+half|half|(?:an?\s+)?quarter(?:\s+of\s+an?)?|(?:an?\s+)?couple(?:\s+of)?"
    rf"|an?\s+few|few|several|(?:(?:{_WORDS_RE})[\s-]+)?(?:{_WORDS_RE})(?:\s+and\s+an?\s+half)?)"
    r"(?=\s*(?:ms|msecs?|millis|milliseconds?|secs?|seconds?|mins?|minutes?)\b)"
)
# "a second" is also an ordinal ("a second replica"): read it as a duration only after a word that introduces one.
_DURATION_INTRO = re.compile(
    r"(?:within|in|under|below|than|about|around|roughly|of|to|most|max|maximum|is|be|takes?|[:<=\u2264])\s*$"
)
_MINUS = re.compile(r"[-\u2212]\s?\$?$")
_NUMBER_BEFORE = re.compile(r"[0-9](?:[kmb]|bn|k\s*users?)?\s*\$?\s*$|[a-z]$")
_COUNT = re.compile(rf"(?<![a-z0-9.,])(?P<n>[0-9]{{1,4}}|{_WORDS_RE})\s*{_TIMES}?\s*$")

_SENTENCE_END = re.compile(r"[;!?\n]|\.(?=\s|$)")
# A colon ends a clause unless it labels the amount after it ("TTFT: 200 ms", "latency: half a second").
_CLAUSE_END = re.compile(
    rf"[,;!?\n()]|:(?!\s*[$<=\u2264~]?\s*(?:[0-9.]|(?:half|quarter|{_WORDS_RE})\b))|\.(?=\s|$)"
    r"|\b(?:and|but|while|whereas|plus)\b"
)
_PUNCT = re.compile(r"[,;:.!?()\n]")

_UNIT_MS = re.compile(r"\s*(?:ms|msecs?|millis|milliseconds?)\b")
_UNIT_S = re.compile(r"\s*(?:s|secs?|seconds?)\b")
_UNIT_MIN = re.compile(r"\s*(?:mins?|minutes?)\b")
_LATENCY_FIELDS: Final = ("ttft_p95_ms", "itl_p95_ms", "e2e_p95_ms")

_METRIC_WORDS: Final = (
    ("ttft_p95_ms", re.compile(r"\bttft\b|\btime[\s-]to[\s-]first[\s-](?:token|byte)\b|\bfirst[\s-]token\b|\bttfb\b")),
    (
        "itl_p95_ms",
        re.compile(
            r"\bitl\b|\btpot\b|\binter[\s-]?token\b|\btime[\s-]per[\s-](?:output[\s-])?token\b|\bper[\s-]token\b"
            r"|\bbetween[\s-]tokens\b|\btoken[\s-]to[\s-]token\b"
        ),
    ),
    (
        "e2e_p95_ms",
        re.compile(
            r"\be2e\b|\bend[\s-]to[\s-]end\b|\btotal\s+(?:latency|time|response\s+time)\b"
            r"|\b(?:full|complete|whole|entire|finished)\s+(?:response|answer|reply|output|generation)s?\b"
            r"|\bfinish(?:ed|es)?\b|\boverall\b"
        ),
    ),
)
_RIGHT_METRIC = re.compile(
    r"\s*(?:p9[059]\s+)?(?:(?:for|to|of|until)\s+(?:the\s+)?)?"
    r"(?:(?P<ttft_p95_ms>ttft\b|time[\s-]to[\s-]first[\s-]token|first[\s-]token)"
    r"|(?P<itl_p95_ms>itl\b|tpot\b|inter[\s-]?token|per[\s-](?:output[\s-])?token|/\s*tok(?:en)?\b|between\s+tokens)"
    r"|(?P<e2e_p95_ms>e2e\b|end[\s-]to[\s-]end|total\b|overall\b|(?:full|complete|whole)\s+(?:response|answer)))"
)
_GENERIC_LATENCY_LEFT = re.compile(
    r"latenc|\brespon|\brepl|\banswer|\bwait|\bp9[059]\b|\bunder\b|\bbelow\b|\bwithin\b|\bless\s+than\b"
    r"|\bmax(?:imum)?\b|\bat\s+most\b|\bno\s+(?:more|longer)\s+than\b|\bsub\b|<|\u2264|\bfaster\s+than\b"
)
_GENERIC_LATENCY_RIGHT = re.compile(
    r"\s*(?:p9[059]\b|(?:p9[059]\s+)?(?:latency|response|max\b|or\s+(?:less|faster|better)))"
)
_METRIC_LEFT_ADJACENT = re.compile(
    r"(?P<kw>\bttft|\bitl|\btpot|\be2e|\bend[\s-]to[\s-]end|\bfirst[\s-]token|\binter[\s-]?token)"
    r"(?:\s*(?:p9[059]|latency|target|of|is|at|:|=|<=?|\u2264|under|below|around|about|max|should\s+be|must\s+be))*"
    r"\s*$"
)
_WHOLE_ANSWER = re.compile(r"\b(?:answers?|repl(?:y|ies)|complete[ds]?|finish\w*|done|generat\w*)\b")
_FIRST_WORDS = re.compile(r"\b(?:start\w*|begin\w*|first|appear\w*|show\w*\s+up)\b")
_OTHER_UNIT = re.compile(r"\s*(?:%|\$|tok|users?\b|people|rps|qps|req|gpus?\b|dollars?|usd|per\b|/|x\b)")

_CUR_LEFT = re.compile(r"(?:\$|usd|us\$)\s*$")
_CUR_RIGHT = re.compile(r"\s*(?:\$|usd\b|dollars?\b|bucks\b)")
_PERIOD = re.compile(
    r"\s*(?:(?:/|per\b|an?\b|each\b|every\b)\s*(?P<p>month|mo|mth|year|yr|annum|week|wk|day|hour|hr|h)\b"
    r"|(?P<adv>monthly|annually|yearly|weekly|daily|hourly)\b)"
)
_PERIOD_FACTORS: Final[Mapping[str, float]] = MappingProxyType(
    {"m": 1.0, "y": 1 / 12, "a": 1 / 12, "w": 730 / 168, "d": 730 / 24, "h": 730.0}
)
_BUDGET_WORD_LEFT = re.compile(r"\bbudget\b[^0-9]{0,25}$")
_SPEND_LEFT = re.compile(r"\bbudget\b|\bspend|\bafford|\bpay\b|\bpaying\b|\bcosts?\b|\bprice\b")
_BUDGET_RIGHT = re.compile(r"\s*(?:budget|max\b|maximum|tops\b|cap\b|limit\b)")
_CAPEX = re.compile(r"\b(?:buy\w*|purchas\w*|capex|upfront|up-front|one[\s-]time|hardware\s+cost)")
_KWH = re.compile(r"\s*(?P<unit>\$|usd|cents?|c|\u00a2)?\s*(?:/|per\b|an?\b)\s*kwh\b")
_POWER_LEFT = re.compile(r"\b(?:electricity|power|energy)\b[^0-9]{0,25}$")
_CENTS = re.compile(r"\s*(?:cents?|c|\u00a2)(?![a-z])")

_RATE_SHORT = re.compile(
    r"\s*(?P<u>rps|qps|req/s|reqs/s|requests?/s(?:ec)?|queries/s(?:ec)?|rpm|req/min|requests?/min)\b"
)
_RATE_LONG = re.compile(
    r"\s*(?:(?:peak|concurrent|incoming|inference|api|llm)\s+)?"
    r"(?:requests?|reqs?|queries|query|calls|inferences|completions|prompts|messages|conversations|chats|questions"
    r"|documents|docs|tickets|emails|files|jobs|tasks|transcripts|reports|contracts|articles)"
    r"\s*(?:/|per\b|an?\b|each\b|every\b)\s*(?P<p>s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?|days?)\b"
)
_RATE_LEFT = re.compile(
    r"\b(?:qps|rps|request\s+rate|requests\s+per\s+second|throughput\s+of)\b"
    r"(?:\s*(?:of|is|:|=|~|around|about|peak|at))*\s*$"
)
_PER_USER = re.compile(
    r"\s*(?:(?:/|per|each|a|an)\s*(?:user|person|employee|customer|developer|seat)\b|each\b|apiece\b)"
)
_PER_USER_LEFT = re.compile(r"\b(?:each|every|per|a|one)\s+(?:user|person|employee|customer|developer)\b")

_USER_NOUNS: Final = (
    r"users?|usrs?|userss|usres|ppl|people|persons|employees|customers|developers|devs|engineers|seats|agents"
    r"|students|members|clients|folks|workers|teammates|individuals"
    r"|visitors|subscribers|staff|lawyers|analysts|researchers|writers|dau|mau|accounts|colleagues|reps|players"
)
_USER_ADJ: Final = (
    r"concurrent|daily|weekly|monthly|active|internal|external|named|total|registered|paying|simultaneous|unique"
    r"|peak|regular|expected|potential|end|enterprise|beta|support|sales|human|real"
)
_CONCURRENT = re.compile(r"\b(?:concurrent|simultaneous)\b")
_AT_ONCE = re.compile(r"\s+(?:at\s+(?:the\s+same\s+time|once)|simultaneously|concurrently|online\s+at\s+once)\b")
_USERS_RIGHT = re.compile(rf"\s*\+?\s*(?:(?:{_USER_ADJ})[\s-]+){{0,2}}(?P<noun>{_USER_NOUNS})\b")
_USERS_LEFT = re.compile(
    r"\b(?:users?|user\s+base|userbase|headcount|audience"
    r"|(?:team|staff|group|department|company|firm|workforce|organi[sz]ation)\s+of)\b"
    r"(?:\s*(?:of|is|are|:|=|~|around|about|approximately|roughly|will\s+be|count|total|maybe))*\s*$"
)

_TOKEN_WORD: Final = r"tok(?:en)?s?\b"
_ROLE_IN: Final = r"prompts?|inputs?|in|questions?|queries|requests?|contexts?"
_ROLE_OUT: Final = r"answers?|outputs?|out|responses?|completions?|replies|reply|generations?|generated|summar(?:y|ies)"
_TOKENS_RIGHT = re.compile(
    rf"[\s-]*{_TOKEN_WORD}(?:[\s-]+(?:of|for|per|on|the|each|long|average|avg|typical|typically))*[\s-]*"
    rf"(?:(?P<in>{_ROLE_IN})|(?P<out>{_ROLE_OUT}))\b"
)
_TOKENS_ROLE_RIGHT = re.compile(
    r"[\s-]*(?:(?P<in>input|prompt|context)|(?P<out>output|completion|response|answer|generated|generation))"
    rf"[\s-]*{_TOKEN_WORD}"
)
_TOKENS_ROLE_LEFT = re.compile(
    rf"\b(?:(?P<in>{_ROLE_IN}|input\s+length|prompt\s+length)|(?P<out>{_ROLE_OUT}|output\s+length))\b"
    r"(?:\s*(?:of|are|is|:|=|~|around|about|roughly|typically|usually|average|avg|up\s+to|length))*\s*$"
)
_TOKENS_AFTER = re.compile(rf"[\s-]*{_TOKEN_WORD}")
MAX_STREAM_TOKENS_PER_S: Final = 500  # faster than any one stream reads: an aggregate throughput instead
_THROUGHPUT_LEFT = re.compile(r"\b(?:throughput|total|aggregate|overall|cluster|combined)\b[^.;,]*$")
_ROLE_RIGHT_BARE = re.compile(
    r"[\s-]*(?:(?P<in>inputs?|prompts?|context)|(?P<out>outputs?|completions?|responses?|answers?))\b"
)
_TOKENS_PER_SECOND = re.compile(r"\s*(?:/|per)\s*(?:s|sec|second)\b")
_PAIR_ARROW = re.compile(rf"\s*(?:{_TOKEN_WORD}\s*)?(?:->|-->|\u2192|=>|/)\s*$")
_PAIR_IN = re.compile(rf"\s*(?:{_TOKEN_WORD}\s*)?in\b\s*(?:,|/|;|and)?\s*$")
_PAIR_OUT = re.compile(rf"\s*(?:{_TOKEN_WORD}\s*)?out\b")

_GPU_MAX_LEFT = re.compile(
    r"\b(?:at\s+most|max(?:imum)?(?:\s+of)?|up\s+to|no\s+more\s+than|limit\s+of|cap\s+of|only\s+have|budget\s+of)\s*$"
)
_GPUS_RIGHT = re.compile(r"\s*(?:x\s*)?(?:gpus?|cards|accelerators)\b(?P<max>\s*(?:max\b|maximum|tops\b|at\s+most))?")
_RANGE_BETWEEN = re.compile(r"\s*(?:-|to)\s*(?:\$|usd)?\s*$")
_BETWEEN_AND = re.compile(r"\s*and\s*(?:\$|usd)?\s*$")
_BARE_FOLLOW = re.compile(
    r"\s*(?:$|[,.;!?)]|-?ish\b|(?:or|so|maybe|max|maximum|tops|at|roughly|approximately|probably|give|i|we|and|but"
    r"|peak|total|more|less|on|in|i'd|-)\b)"
)

_NEGATION = re.compile(
    r"\b(?:no|not|without|avoid\w*|exclud\w*|except|never|ban|banned|skip|non|nor|neither|none)\b|n't\b"
    r"|\binstead\s+of\b|\brather\s+than\b|\bother\s+than\b|\banything\s+but\b|\bbut\s+not\b|\baway\s+from\b"
)
# Lifting an earlier restriction: "any GPU is fine", "no budget limit", "drop the model filter".
_DROP: Final = (
    r"(?:drop|remove|forget|ignore|lift|clear|scrap|reset|undo|get\s+rid\s+of)\s+(?:the\s+|our\s+|my\s+|that\s+)?"
)
_ANY_FINE: Final = r"(?:\s+(?:is|are)\s+(?:fine|ok|okay|good|acceptable)|\s+(?:works|will\s+do|goes))"
_RESTRICTION: Final = r"(?:restrictions?|filters?|limits?|constraints?|requirements?|preferences?)"
_CLEARS: Final = (
    (
        ("budget_usd_month",),
        "No budget limit now.",
        re.compile(
            r"\bno\s+(?:budget|spending|cost)\s+(?:limit|cap|ceiling|constraint|restriction)s?\b|\bunlimited\s+budget\b"
            r"|\bbudget\s+is\s+(?:unlimited|no\s+(?:issue|object|concern))\b|\bmoney\s+is\s+no\s+object\b"
            rf"|\bwithout\s+a\s+budget(?:\s+(?:limit|cap))?\b|\b{_DROP}budget(?:\s+(?:limit|cap|constraint|ceiling))?\b"
        ),
    ),
    (
        ("gpus", "exclude_gpus"),
        "Any GPU type again.",
        re.compile(
            rf"\b(?:any|whatever)\s+(?:gpus?|hardware|accelerators?)(?:\s+types?)?{_ANY_FINE}?\b"
            rf"|\ball\s+gpus?(?:\s+types?)?{_ANY_FINE}\b|\b{_DROP}(?:[\w-]+\s+)?(?:gpu|hardware)\s+{_RESTRICTION}\b"
            r"|\bno\s+(?:gpu|hardware)\s+(?:restrictions?|preferences?|constraints?)\b"
        ),
    ),
    (
        ("models", "exclude_models"),
        "Any model again.",
        re.compile(
            rf"\b(?:any|whatever)\s+models?{_ANY_FINE}?\b|\ball\s+models{_ANY_FINE}\b"
            rf"|\b{_DROP}(?:[\w.-]+\s+)?model\s+{_RESTRICTION}\b|\bno\s+model\s+(?:restrictions?|preferences?)\b"
        ),
    ),
    (
        ("quantization",),
        "Any quantisation again.",
        re.compile(
            rf"\b(?:any|whatever)\s+(?:quanti[sz]ation|precision|weight\s+format)s?{_ANY_FINE}?\b"
            rf"|\b{_DROP}(?:quanti[sz]ation|precision)\s+{_RESTRICTION}\b"
        ),
    ),
    (
        ("ttft_p95_ms", "itl_p95_ms", "e2e_p95_ms"),
        "Back to the use case's default latency targets.",
        re.compile(
            r"\b(?:use|go\s+back\s+to|back\s+to|reset\s+to|revert\s+to)\s+(?:the\s+)?(?:default|standard)\s+"
            rf"(?:latency\s+)?(?:slos?|targets)\b|\b{_DROP}(?:custom\s+)?(?:latency\s+)?(?:slos?|latency\s+targets)\b"
        ),
    ),
)
_DROP_NAMED = re.compile(rf"\b{_DROP}(?P<what>[a-z0-9][\w .-]{{0,30}}?)\s+{_RESTRICTION}\b")
_NOT_NEGATION = re.compile(
    r"\bnot\s+(?:sure|certain)\b|\bno\s+(?:idea|clue)\b|\bdon'?t\s+know\b"
    r"|\b(?:no|not)\s+(?:more|less|fewer|over|under)\s+than\b"
)
_NEGATION_RIGHT = re.compile(
    r"(?:'?s)?\s*(?:gpus?\s+)?(?:is|are)?\s*(?:not\s+(?:allowed|ok|okay|an\s+option|available|possible|wanted)"
    r"|out\b|excluded|off\s+the\s+table|banned|a\s+no[\s-]go|forbidden)"
)
_ONLY_LEFT = re.compile(
    r"\b(?:only|just|exclusively|solely|nothing\s+but|strictly|switch(?:ing)?\s+to|move\s+to|change\s+to)\s*$"
)
_ONLY_RIGHT = re.compile(r"(?:'?s)?\s*(?:gpus?|models?|cards)?\s*(?:only|exclusively|instead)\b")
_LIST_SEP = re.compile(r"(?:,|/|&|\bor\b|\band\b|\bnor\b|\bplus\b)\s*$")
_LIST_FILLER = re.compile(
    rf"(?:\b(?:any|the|a|an|either|neither|of|use|using|on|run|running|deploy|with)|[0-9]+\s*{_TIMES}?|\bgpus?|\bcards)"
    r"\s*$"
)
_NOT_A = re.compile(r"\b(?:not|isn't|no)\s+(?:an?\s+)?$")
_NOT_PRIORITY_RIGHT = re.compile(r"\s*(?:enough|growing|moving|approaching)\b")
_MODEL_TRAILING = re.compile(r"[\s-]*[a-z]?[0-9]")
_VENDOR = re.compile(r"(?<![a-z0-9-])(?P<v>nvidia|amd)(?![a-z0-9])(?:\s+gpus?)?")

_QUANT_PATTERNS: Final = (
    (Quantization.FP8, re.compile(r"\bfp[\s-]?8\b|\b8[\s-]?bits?\b|\bint[\s-]?8\b|\bw8a8\b"), False),
    (
        Quantization.INT4,
        re.compile(r"\bint[\s-]?4\b|\b4[\s-]?bits?\b|\bawq\b|\bgptq\b|\bq4(?:_k_m|_0)?\b|\bw4a16\b|\bnf4\b"),
        False,
    ),
    (
        Quantization.BF16,
        re.compile(r"\bbf[\s-]?16\b|\bfp[\s-]?16\b|\b16[\s-]?bits?\b|\bhalf[\s-]precision\b|\bfull[\s-]precision\b"),
        False,
    ),
    (
        Quantization.BF16,
        re.compile(
            r"\bunquanti[sz]ed\b|\b(?:no|without)\s+quanti[sz]ation\b|\bdon'?t\s+quanti[sz]e\b|\bnot\s+quanti[sz]ed\b"
        ),
        True,
    ),
)

_PRIORITY_WORDS: Final = (
    (
        Priority.LATENCY,
        re.compile(
            r"\blow[\s-]latency\b|\bfast(?:er|est)?\b|\bsnappy\b|\bresponsive\b|\breal[\s-]?time\b|\binstant(?:ly)?\b"
            r"|\blatency[\s-](?:sensitive|critical)\b|\bminimal\s+latency\b|\bspeed\b|\blow\s+lag\b|\bquick(?:ly)?\b"
        ),
    ),
    (
        Priority.COST,
        re.compile(
            r"\bcheap(?:er|est|ly)?\b|\blow[\s-]cost\b|\bcost[\s-](?:effective|efficient|conscious|sensitive)\b"
            r"|\b(?:tight|limited|small|low|modest|shoestring)\s+budget\b|\bbudget[\s-](?:conscious|friendly)\b"
            r"|\bminimi[sz]e\s+(?:the\s+)?(?:costs?|spend\w*)\b|\bsave\s+money\b|\binexpensive\b|\baffordable\b"
            r"|\bfrugal\b|\blowest\s+(?:cost|price)\b"
            r"|\b(?:keep|keeping|cut|cutting|reduce|reducing|lower|lowering)\s+(?:the\s+|our\s+)?"
            r"(?:costs?|spend\w*|bills?|prices?)(?:\s+(?:down|low))?\b"
        ),
    ),
    (
        Priority.QUALITY,
        re.compile(
            r"\b(?:best|high(?:est)?|top|great|good)[\s-]quality\b|\bmost\s+(?:accurate|capable|intelligent)\b"
            r"|\baccura(?:te|cy)\b|\bbest\s+(?:possible\s+)?(?:answers|model|results|output)\b|\bsmartest\b"
        ),
    ),
    (
        Priority.BALANCED,
        re.compile(
            r"(?<!load\s)(?<!load-)\bbalanced?\b|\bgood\s+trade[\s-]?off\b|\bmiddle\s+ground\b|\bequally\b"
            r"|\ba\s+bit\s+of\s+everything\b"
        ),
    ),
)
_PRIORITY_SUBJECTS: Final = (
    (Priority.LATENCY, r"latency|speed|responsiveness|response\s+time"),
    (Priority.COST, r"costs?|price|money|spend|budget"),
    (Priority.QUALITY, r"quality|accuracy"),
)
_STRONG_AFTER: Final = (
    r"\s+(?:is|are)?\s*(?:what\s+)?(?:matters?\s+(?:the\s+)?most|(?:the\s+)?most\s+important|(?:our|my|the)\s+"
    r"(?:top\s+|main\s+|first\s+|#1\s+)?priority|(?:is\s+)?key|first|above\s+all|comes\s+first|over\s+\w+)"
)
_STRONG_BEFORE: Final = (
    r"(?:prioriti[sz]e|optimi[sz]e\s+for|focus\s+on|care\s+(?:most\s+)?about|minimi[sz]e)\s+(?:the\s+)?"
)
_STRONG_PRIORITY: Final = tuple(
    (priority, re.compile(rf"\b(?:{subject})\b{_STRONG_AFTER}|\b{_STRONG_BEFORE}(?:{subject})\b"))
    for priority, subject in _PRIORITY_SUBJECTS
)
_MATTERS: Final = (
    r"\s+(?:really\s+|also\s+|does\s+)?(?:matters?|counts?|is\s+(?:very\s+|really\s+)?(?:important|critical|crucial|key)"
    r"|are\s+(?:very\s+)?important)\b"
)
_PRIORITY_MATTERS: Final = tuple(
    (priority, re.compile(rf"\b(?:{subject}){_MATTERS}")) for priority, subject in _PRIORITY_SUBJECTS
)
# "priority: cost", "priority is quality", "set the priority to latency"
_PRIORITY_LABEL = re.compile(
    r"\bpriorit(?:y|ies)\s*(?:is\s+|:\s*|=\s*|to\s+|should\s+be\s+|->\s*)?(?:the\s+|on\s+)?"
    r"(?P<value>latency|speed|cost|costs|price|quality|accuracy|balanced|balance)\b"
)
_LABELLED_PRIORITY: Final[Mapping[str, Priority]] = MappingProxyType(
    {
        "latency": Priority.LATENCY,
        "speed": Priority.LATENCY,
        "cost": Priority.COST,
        "costs": Priority.COST,
        "price": Priority.COST,
        "quality": Priority.QUALITY,
        "accuracy": Priority.QUALITY,
        "balanced": Priority.BALANCED,
        "balance": Priority.BALANCED,
    }
)
_OVER_OTHER = re.compile(r"over\s+(?:speed|latency|cost|price|quality|accuracy|everything)\b")
_PRIORITY_BARE: Final = (
    (Priority.LATENCY, re.compile(r"\b(?:latency|speed|fast|quick|responsiveness)\b")),
    (Priority.COST, re.compile(r"\b(?:cost|costs|price|money|cheap|budget)\b")),
    (Priority.QUALITY, re.compile(r"\b(?:quality|accuracy|accurate|answers)\b")),
    (Priority.BALANCED, re.compile(r"\b(?:both|all|mix|equal|everything)\b")),
)
_PRIORITY_NEG_RIGHT = re.compile(
    r"\s*(?:is|are)?\s*(?:n't|not|isn't|doesn't|does\s+not|is\s+not)\s+(?:that\s+|very\s+|too\s+|really\s+|so\s+)?"
    r"(?:matter|important|critical|a\s+(?:concern|priority|big\s+deal)|crucial|needed|required)"
    r"|\s*(?:doesn'?t|does\s+not|don'?t)\s+(?:really\s+)?matter|\s*(?:is\s+)?(?:irrelevant|secondary)"
)

_PRICING: Final = (
    (PricingModel.SPOT, re.compile(r"\bspot\b|\bpre-?emptible\b|\binterruptible\b")),
    (
        PricingModel.RESERVED,
        re.compile(r"\breserved\b|\breservations?\b|\bcommitted[\s-]use\b|\b[13][\s-]?(?:year|yr)\s+commit\w*\b"),
    ),
    (PricingModel.ON_DEMAND, re.compile(r"\bon[\s-]demand\b|\bpay[\s-]as[\s-]you[\s-]go\b")),
)
_OWNED = re.compile(
    r"\bour\s+own\s+(?:hardware|gpus?|servers?|cluster|data\s*cent(?:er|re)s?|machines|infrastructure|infra)\b"
    r"|\bon[\s-]?prem(?:ise|ises)?\b|\bexisting\s+(?:hardware|gpus?|cluster|servers)\b"
    r"|\bin[\s-]house\s+(?:hardware|gpus?|cluster|servers)\b"
    r"|\b(?:we|i)\s+(?:already\s+)?(?:own|have|got)\s+(?:our\s+own\s+)?(?:[0-9]{1,4}\s+)?"
    r"(?:gpus?|hardware|servers|cluster|machines|nodes)\b"
)
_OWN_BEFORE_GPU = re.compile(
    r"\b(?:we|i|us|company|team|org)\b[^,.;]{0,24}?\b(?:own|have|has|got|possess|operate|bought|purchased)\b"
    r"(?:\s+(?:a|an|the|our|some|about|around|roughly|already|got|existing|idle))*\s*$"
)
_OWN_BARE = re.compile(r"\b(?:own|ours|have\s+(?:them|it|some))\b")
_PURCHASE = re.compile(r"\b(?:buy|buying|purchase|purchasing|acquire|acquiring|capex)\b(?!-)")
_RENTAL = re.compile(r"\b(?:rent|renting|rental|rented|cloud|aws|gcp|azure|coreweave|lambda\s+labs|runpod)\b")

_DONT_KNOW = re.compile(
    r"\b(?:i\s+)?(?:don'?t|do\s+not)\s+know\b|\bdunno\b|\bnot\s+(?:sure|certain)\b|\bno\s+(?:idea|clue)\b"
    r"|\bidk\b|\bunsure\b|\bwhatever\s+you\s+(?:think|suggest|recommend|prefer)\b"
    r"|\byou\s+(?:decide|choose|pick|tell\s+me)\b|\bup\s+to\s+you\b|\bno\s+(?:strong\s+)?(?:preference|opinion)\b"
    r"|\bdon'?t\s+care\b|\bhard\s+to\s+say\b|\bcan'?t\s+say\b|\bhaven'?t\s+decided\b|\bundecided\b"
    r"|\bany(?:thing)?\s+(?:is\s+fine|works|goes)\b|(?:^|[.!?,]\s*)(?:it\s+)?doesn'?t\s+matter\b|\bnot\s+decided\b"
)
_DONT_KNOW_TOPICS: Final = (
    ("users", re.compile(r"\busers?\b|\bpeople\b|\bhow\s+many\b")),
    ("budget_usd_month", re.compile(r"\bbudget\b|\bspend\b|\bcosts?\b")),
    ("qps", re.compile(r"\bqps\b|\brps\b|\brequests?\b|\btraffic\b")),
    ("gpus", re.compile(r"\bgpus?\b|\bhardware\b")),
    ("models", re.compile(r"\bmodels?\b")),
)

_STEM_PREFIXES: Final = (
    "summar",
    "translat",
    "transcri",
    "complet",
    "generat",
    "analy",
    "document",
    "locali",
    "retriev",
    "review",
    "assist",
    "convers",
    "suggest",
    "refactor",
    "program",
    "writ",
)
_STEM_WORDS: Final[Mapping[str, str]] = MappingProxyType({"doc": "document", "docs": "document", "pdfs": "pdf"})
_WORD_TOKEN = re.compile(r"[a-z0-9]+(?:[&;'][a-z0-9]+)*")
_TYPOGRAPHY: Final[Mapping[int, str]] = MappingProxyType(
    str.maketrans(
        {"\u2019": "'", "\u2018": "'", "\u2013": "-", "\u2014": "-", "\u00a0": " ", "\u201c": '"', "\u201d": '"'}
    )
)


# --------------------------------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class _Num:
    start: int
    end: int
    value: float


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    kind: str  # "gpu" | "model" | "vendor"
    names: tuple[str, ...]
    label: str
    count: int | None = None


def _stem(word: str) -> str:
    if word in _STEM_WORDS:
        return _STEM_WORDS[word]
    for prefix in _STEM_PREFIXES:
        if word.startswith(prefix):
            return prefix
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _phrase_tokens(phrase: str) -> tuple[str, ...]:
    return tuple(_stem(w) for w in _WORD_TOKEN.findall(re.sub(r"[-_/]", " ", phrase.lower())))


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:g}"


def _fmt_any(value: Any) -> str:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return _fmt(float(value))
    return str(getattr(value, "value", value))


def _finding_value(value: Any) -> FindingValue:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, list):
        return [str(getattr(v, "value", v)) for v in value]
    return str(getattr(value, "value", value))


def _period_factor(word: str) -> float:
    """Multiplier from a per-<period> amount to a monthly one (730 hours a month)."""
    return _PERIOD_FACTORS.get(word[0], 1.0)


def _rate_divisor(unit: str) -> float:
    """Seconds in the period a request count is given per."""
    if unit == "rpm" or unit.endswith("min") or unit.startswith("min"):
        return 60.0
    if unit.startswith("h"):
        return 3600.0
    if unit.startswith("d"):
        return 86400.0
    return 1.0


_VAGUE_LEADS: Final[Mapping[str, float]] = MappingProxyType({"half": 0.5, "few": 3, "couple": 2, "several": 3})


def _duration_amount(match: re.Match[str], low: str) -> float | None:
    """The amount of a spelled-out duration, or None where "a second" is an ordinal rather than a time."""
    lead = match.group("lead")
    words = lead.split()
    if "half" in words and "and" not in words:
        return 0.5
    if "quarter" in words:
        return 0.25
    vague = next((_VAGUE_LEADS[w] for w in words if w in _VAGUE_LEADS and w != "half"), None)
    if vague is not None:
        return vague
    if words in (["a"], ["an"], ["one"]) and not _DURATION_INTRO.search(low, max(0, match.start() - 12), match.start()):
        return None
    amount = sum(_SMALL_WORDS[w] for w in re.split(r"[\s-]+", lead.split(" and ")[0]) if w in _SMALL_WORDS)
    return amount + (0.5 if "and" in words else 0.0)


def _word_number(match: re.Match[str]) -> float:
    words = [w for w in re.split(r"[\s-]+", match.group("lead").strip()) if w]
    vague = next((_VAGUE_LEADS[w] for w in words if w in _VAGUE_LEADS), None)
    lead = vague if vague is not None else sum(_SMALL_WORDS[w] for w in words if w in _SMALL_WORDS)
    scale = 1.0
    for word in match.group("scale").split():
        scale *= _SCALES[word]
    return lead * scale


@dataclass
class _Scan:
    """The working state of one `extract` call (created per call, never shared)."""

    text: str
    low: str
    catalog: CatalogSnapshot
    expecting: str | None
    consumed: bytearray = field(init=False)
    values: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    replace: list[str] = field(default_factory=list)
    clear: list[str] = field(default_factory=list)
    lifted: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    mentions: list[_Mention] = field(default_factory=list)
    nums: list[_Num] = field(default_factory=list)
    num_ends: list[int] = field(default_factory=list)
    used_nums: set[int] = field(default_factory=set)
    mention_ends: dict[str, dict[int, int]] = field(default_factory=dict)
    owned_at: tuple[int, int] | None = None
    owned_count: int | None = None

    def __post_init__(self) -> None:
        self.consumed = bytearray(len(self.low))

    # ----- bookkeeping

    def span(self, start: int, end: int) -> str:
        return self.text[start:end].strip()

    def take(self, start: int, end: int) -> None:
        self.consumed[start:end] = b"\x01" * (end - start)

    def is_free(self, start: int, end: int) -> bool:
        return not any(self.consumed[start:end])

    def lift(self, fields: tuple[str, ...], note: str, start: int, end: int) -> None:
        """Forget `fields` (a lifted restriction); the note is told unless the message sets one of them again."""
        self.clear.extend(f for f in fields if f not in self.clear)
        self.lifted.append((fields, note))
        self.take(start, end)

    def note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)

    def set(self, name: str, value: Any, start: int, end: int) -> bool:
        """Record a scalar if it is valid for the field (else note why not); a later mention in the message wins."""
        try:
            DeploymentIntent.model_validate({name: value})
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"].lower()
            self.note(f"Ignored {self.span(start, end)!r} for {name}: {reason}.")
            self.take(start, end)
            return True
        previous = self.values.get(name)
        if previous is not None and previous != value:
            self.note(f"{name}: you mentioned {_fmt_any(previous)} and {_fmt_any(value)}; I used {_fmt_any(value)}.")
        self.values[name] = value
        self.findings.append(Finding(field=name, value=_finding_value(value), span=self.span(start, end)))
        self.take(start, end)
        return True

    def add(self, name: str, items: list[str], start: int, end: int) -> None:
        current: list[str] = self.values.setdefault(name, [])
        new = [i for i in items if i not in current]
        current.extend(new)
        if new:
            self.findings.append(Finding(field=name, value=new, span=self.span(start, end)))

    def set_replace(self, name: str) -> None:
        if name not in self.replace:
            self.replace.append(name)

    # ----- context windows

    def _floor(self, pos: int) -> int:
        """End of the nearest number before pos (context windows stop there)."""
        index = bisect.bisect_right(self.num_ends, pos)
        return self.num_ends[index - 1] if index else 0

    def left(self, pos: int, width: int = 40) -> str:
        """Text before pos in the same sentence, at most `width` characters, not reaching back past a number."""
        start = max(0, pos - width, self._floor(pos))
        segment = self.low[start:pos]
        ends = [m.end() for m in _SENTENCE_END.finditer(segment)]
        return segment[max(ends, default=0) :]

    def clause_start(self, pos: int, width: int = 80) -> int:
        start = max(0, pos - width)
        # Searched a little past `pos` so a colon's look-ahead sees the amount it labels.
        ends = [m.end() for m in _CLAUSE_END.finditer(self.low, start, pos + 24) if m.end() <= pos]
        return max(ends, default=start)

    def sentence(self, pos: int, width: int = 300) -> tuple[int, int]:
        floor = max(0, pos - width)
        starts = [m.end() for m in _SENTENCE_END.finditer(self.low, floor, pos)]
        after = _SENTENCE_END.search(self.low, pos, min(len(self.low), pos + width))
        return max(starts, default=floor), after.start() if after else min(len(self.low), pos + width)

    def words_before(self, pos: int, count: int = 3) -> str:
        """The last few words before pos in the same clause (punctuation ends the look-back)."""
        window = _PUNCT.split(self.low[max(0, pos - 40) : pos])[-1]
        return " ".join(_NOT_NEGATION.sub(" ", window).split()[-count:])

    def negated_at(self, pos: int) -> bool:
        return bool(_NEGATION.search(self.words_before(pos)))


# --------------------------------------------------------------------------------------------------- names


def _gpu_aliases(catalog: CatalogSnapshot) -> list[tuple[str, str]]:
    """(lower-case alias, canonical GPU name), longest alias first, resolved through the catalog."""
    pairs: dict[str, str] = {}
    for gpu in catalog.gpus:
        for alias in (gpu.name, *gpu.aliases):
            pairs.setdefault(alias.lower(), catalog.gpu(alias).name)
    return sorted(pairs.items(), key=lambda kv: len(kv[0]), reverse=True)


def _alias_pattern(alias: str) -> re.Pattern[str]:
    body = r"[\s_-]?".join(re.escape(part) for part in re.split(r"[\s_-]+", alias) if part)
    return re.compile(rf"(?:(?<![a-z0-9])|(?<=[0-9]x))(?:{body})(?:'?s)?(?![a-z0-9])")


def _find_gpus(scan: _Scan) -> None:
    for alias, canonical in _gpu_aliases(scan.catalog):
        for match in _alias_pattern(alias).finditer(scan.low):
            if not scan.is_free(match.start(), match.end()):
                continue
            count = None
            counted = _COUNT.search(scan.low, max(0, match.start() - 16), match.start())
            if counted and counted.group("n") not in ("a", "an") and scan.is_free(counted.start(), match.start()):
                word = counted.group("n")
                count = int(word) if word.isdigit() else _SMALL_WORDS[word]
                scan.take(counted.start(), match.start())
            scan.take(match.start(), match.end())
            start = counted.start() if count is not None and counted else match.start()
            scan.mentions.append(_Mention(start, match.end(), "gpu", (canonical,), match.group(0), count))
    vendors = {g.vendor for g in scan.catalog.gpus}
    for match in _VENDOR.finditer(scan.low):
        vendor = match.group("v")
        if vendor in vendors and scan.is_free(match.start(), match.end()):
            names = tuple(g.name for g in scan.catalog.gpus if g.vendor == vendor)
            scan.mentions.append(_Mention(match.start(), match.end(), "vendor", names, vendor))
            scan.take(match.start(), match.end())


@dataclass(frozen=True)
class _ModelFacts:
    repo: str
    base: str
    version: str | None
    variants: frozenset[str]
    sizes: frozenset[str]


_SIZE = re.compile(r"(?:[0-9]+x)?[0-9]+(?:\.[0-9]+)?b(?![a-z0-9])")
_IGNORED_VARIANTS: Final = frozenset({"instruct", "it", "chat", "hf", "v", "a", "e"})


def _model_facts(model: ModelSpec) -> _ModelFacts:
    """Family word, version, variant words ("coder", "small") and sizes ("8b", "8x7b") a user may type."""
    family = model.family.lower().split("-")
    base = family[0]
    version = next((t.lstrip("v") for t in family[1:] if any(c.isdigit() for c in t)), None)
    tail = model.hf_repo.split("/")[-1].lower()
    words = set(re.findall(r"[a-z]+", re.sub(r"[0-9.]+[a-z]?", " ", tail))) | {t for t in family[1:] if t.isalpha()}
    words |= set(re.findall(r"\b[a-z]{3,}\b", model.name.lower().replace(base, " ")))
    variants = frozenset(w for w in words if w != base and w not in _IGNORED_VARIANTS and len(w) > 1)
    sizes = {m.group(0) for m in (_SIZE.search(tail), _SIZE.search(model.name.lower())) if m}
    sizes.add(f"{round(model.total_params_b)}b")
    return _ModelFacts(model.hf_repo, base, version, variants, frozenset(sizes))


@dataclass(frozen=True)
class _ModelTables:
    """Per catalog snapshot: model facts, alias patterns and one family pattern per base word."""

    canonical: dict[str, str]
    aliases: list[tuple[re.Pattern[str], str]]
    families: list[tuple[re.Pattern[str], list[_ModelFacts]]]


def _build_model_tables(catalog: CatalogSnapshot) -> _ModelTables:
    facts = [_model_facts(m) for m in catalog.models]
    canonical = {f.repo: catalog.model(f.repo).hf_repo for f in facts}
    aliases = [
        (re.compile(rf"(?<![a-z0-9/]){re.escape(alias)}(?![a-z0-9])"), catalog.model(alias).hf_repo)
        for model in catalog.models
        for alias in (model.hf_repo.lower(), model.hf_repo.split("/")[-1].lower())
    ]
    variants = sorted({v for f in facts for v in f.variants}, key=len, reverse=True)
    variant_re = "|".join(re.escape(v) for v in variants) or "(?!)"
    families = []
    for base in sorted({f.base for f in facts}, key=len, reverse=True):
        pattern = re.compile(
            rf"(?<![a-z0-9/-])(?P<base>{re.escape(base)})"
            r"(?:[\s-]*(?P<ver>v?[0-9]+(?:\.[0-9]+)?)(?![0-9.]|[\s-]*x[0-9]|b\b|[\s-]+b\b))?"
            rf"(?P<rest>(?:[\s-]*(?:(?:{variant_re})\b|[0-9]+(?:\.[0-9]+)?(?:x[0-9]+)?b\b|a[0-9]+b\b|instruct\b|it\b"
            r"|v[0-9]+(?:\.[0-9]+)?\b|[0-9]{4}\b))*)"
            r"(?![a-z0-9])"
        )
        families.append((pattern, [f for f in facts if f.base == base]))
    return _ModelTables(canonical=canonical, aliases=aliases, families=families)


def _find_models(scan: _Scan) -> None:
    tables = scan.catalog.derived("intent.model_tables", _build_model_tables)
    for pattern, repo in tables.aliases:  # full Hugging Face ids and their part after the slash, exactly
        for match in pattern.finditer(scan.low):
            if scan.is_free(match.start(), match.end()):
                scan.mentions.append(_Mention(match.start(), match.end(), "model", (repo,), match.group(0)))
                scan.take(match.start(), match.end())
    for pattern, candidates in tables.families:
        for match in pattern.finditer(scan.low):
            if scan.is_free(match.start(), match.end()):
                _resolve_model_mention(scan, match, candidates, tables.canonical)


def _resolve_model_mention(
    scan: _Scan, match: re.Match[str], candidates: list[_ModelFacts], canonical: Mapping[str, str]
) -> None:
    version = match.group("ver").lstrip("v") if match.group("ver") else None
    rest = match.group("rest")
    sizes = set(re.findall(r"(?<![a-z0-9.])[0-9]+(?:\.[0-9]+)?(?:x[0-9]+)?b\b", rest))
    said = {w for w in re.findall(r"(?<![0-9])[a-z]{2,}", rest) if w not in _IGNORED_VARIANTS}
    label = scan.span(match.start(), match.end())
    scan.take(match.start(), match.end())
    trailing = _MODEL_TRAILING.match(scan.low, match.end())
    if trailing:
        scan.note(f"I don't know the model {scan.span(match.start(), match.end() + trailing.end())!r}; ignored it.")
        return
    found = candidates
    if version is None and not sizes and not said and all(f.variants for f in found):
        scan.note(f"{label!r} could mean several models; name one (e.g. {found[0].repo}).")
        return
    if version is not None:
        found = [f for f in found if f.version is not None and (f.version + ".").startswith(version + ".")]
    if sizes:
        found = [f for f in found if sizes <= f.sizes]
    if said:
        found = [f for f in found if said <= f.variants]
    elif version is not None or sizes:
        found = [f for f in found if not f.variants - {"oss"}] or found
    if not found:
        same_size = [f for f in candidates if sizes and sizes <= f.sizes and not f.variants - said - {"oss"}]
        near = same_size or [f for f in candidates if sizes and sizes <= f.sizes]
        hint = ""
        if near:
            short = canonical[near[0].repo].split("/")[-1]
            hint = f' The closest it has is {short}: say "use {short}" to plan with it.'
        scan.note(f"The catalog has no model matching {label!r}; I left the model open.{hint}")
        return
    repos = tuple(canonical[f.repo] for f in found)
    scan.mentions.append(_Mention(match.start(), match.end(), "model", repos, label))


def _group(mention: _Mention) -> str:
    return "model" if mention.kind == "model" else "gpu"


def _chain_start(scan: _Scan, mention: _Mention) -> int:
    """Walk left over a list of same-kind names and fillers ("no 8x H100, A100 or L4") to where the list begins."""
    ends = scan.mention_ends.get(_group(mention), {})
    start = pos = mention.start
    for _ in range(24):
        floor = max(0, pos - 60)
        head = scan.low[floor:pos].rstrip()
        here = floor + len(head)
        if here in ends and here != start:
            pos = ends[here]
            continue
        sep = _LIST_SEP.search(head)
        if sep:
            before = floor + len(head[: sep.start()].rstrip())
            if before in ends:
                pos = ends[before]
                continue
        filler = _LIST_FILLER.search(head)
        if filler and filler.start() < len(head):
            pos = floor + filler.start()
            continue
        return here
    return pos


def _negated(scan: _Scan, mention: _Mention) -> bool:
    """'no H100', 'no H100, A100 or L4' (the cue covers the list), 'H100 instead of A100', 'MI300X is out'."""
    start = _chain_start(scan, mention)
    return bool(
        _NEGATION.search(scan.words_before(start, 4))
        or _NEGATION.search(scan.words_before(mention.start, 3))
        or _NEGATION_RIGHT.match(scan.low, mention.end)
    )


def _only(scan: _Scan, mention: _Mention) -> bool:
    start = _chain_start(scan, mention)
    return bool(_ONLY_LEFT.search(scan.low[max(0, start - 30) : start]) or _ONLY_RIGHT.match(scan.low, mention.end))


def _apply_mentions(scan: _Scan) -> None:
    owned_counts: list[int] = []
    for mention in scan.mentions:
        scan.mention_ends.setdefault(_group(mention), {})[mention.end] = mention.start
    for mention in sorted(scan.mentions, key=lambda m: m.start):
        negated = _negated(scan, mention)
        if mention.kind == "vendor":
            if negated:
                scan.add("exclude_gpus", list(mention.names), mention.start, mention.end)
            elif _only(scan, mention):
                others = [g.name for g in scan.catalog.gpus if g.name not in mention.names]
                scan.add("exclude_gpus", others, mention.start, mention.end)
            continue
        include, exclude = ("gpus", "exclude_gpus") if mention.kind == "gpu" else ("models", "exclude_models")
        if negated:
            scan.add(exclude, list(mention.names), mention.start, mention.end)
            continue
        scan.add(include, list(mention.names), mention.start, mention.end)
        if _only(scan, mention):
            scan.set_replace(include)
        if mention.count and _GPU_MAX_LEFT.search(scan.low[max(0, mention.start - 30) : mention.start]):
            scan.set("max_gpus", mention.count, mention.start, mention.end)
        chain = _chain_start(scan, mention)
        if mention.kind == "gpu" and _OWN_BEFORE_GPU.search(scan.low[max(0, chain - 60) : chain]):
            scan.owned_at = scan.owned_at or (mention.start, mention.end)
            if mention.count:
                owned_counts.append(mention.count)
    for name in ("gpus", "models"):
        excluded = set(scan.values.get(f"exclude_{name}", []))
        if excluded and name in scan.values:
            scan.values[name] = [n for n in scan.values[name] if n not in excluded]
    if owned_counts:
        scan.owned_count = max(owned_counts)
        if len(owned_counts) > 1:
            scan.note(f"You own several GPU types; I capped each option at {scan.owned_count} GPUs.")


# --------------------------------------------------------------------------------------------------- numbers


def _numbers(scan: _Scan) -> list[_Num]:
    found: list[_Num] = []
    for match in _NUM.finditer(scan.low):
        value = float(match.group("digits").replace(",", ""))
        if match.group("mult"):
            value *= _MULTS[match.group("mult")]
        elif match.group("scale"):
            value *= _SCALES[match.group("scale")]
        start = match.start()
        minus = _MINUS.search(scan.low, max(0, start - 4), start)
        if minus and not _NUMBER_BEFORE.search(scan.low, max(0, minus.start() - 24), minus.start()):
            value, start = -value, minus.start()  # "-5 dollars", "$-5": kept negative so validation rejects it
        found.append(_Num(start, match.end(), value))
    starts = [n.start for n in found]
    for match in _WORD_NUM.finditer(scan.low):
        index = bisect.bisect_left(starts, match.start())
        if index < len(found) and found[index].start < match.end():
            continue
        value = _word_number(match)
        if re.search(r"few|couple|several", match.group("lead")):
            scan.note(f"Read {scan.span(match.start(), match.end())!r} as about {_fmt(value)}.")
        found.append(_Num(match.start(), match.end(), value))
    for match in _WORD_DURATION.finditer(scan.low):
        amount = _duration_amount(match, scan.low)
        if amount is None or any(n.start < match.end() and match.start() < n.end for n in found):
            continue
        if re.search(r"few|couple|several", match.group("lead")):
            scan.note(f"Read {scan.span(match.start(), match.end())!r} as about {_fmt(amount)}.")
        found.append(_Num(match.start(), match.end(), amount))
    found.sort(key=lambda n: n.start)
    for num in [n for n in found if not math.isfinite(n.value)]:
        scan.note(f"Ignored {scan.span(num.start, num.end)!r}: the number is too large to use.")
        scan.take(num.start, num.end)
    return [n for n in found if scan.is_free(n.start, n.end)]


Reader = Callable[["_Scan", int, _Num], bool]


def _classify_numbers(scan: _Scan) -> None:
    _token_pairs(scan)
    readers: tuple[Reader, ...] = (
        _read_power,
        _read_money,
        _read_duration,
        _read_rate,
        _read_tokens,
        _read_users,
        _read_gpu_max,
    )
    for index, num in enumerate(scan.nums):
        if index in scan.used_nums or not scan.is_free(num.start, num.end):
            continue
        for reader in readers:
            if reader(scan, index, num):
                scan.used_nums.add(index)
                break


def _range_start(scan: _Scan, index: int, noun: str) -> int:
    """If the number before this one opens a range with it ("1k-2k users"), the upper bound is used: return where
    the range starts (and mark the lower bound read)."""
    num = scan.nums[index]
    if index == 0 or (index - 1) in scan.used_nums:
        return num.start
    prev = scan.nums[index - 1]
    if not scan.is_free(prev.start, prev.end):
        return num.start
    between = scan.low[prev.end : num.start]
    ranged = _RANGE_BETWEEN.fullmatch(between) or (
        _BETWEEN_AND.fullmatch(between) and scan.low[max(0, prev.start - 9) : prev.start].strip() == "between"
    )
    if not ranged:
        return num.start
    scan.used_nums.add(index - 1)
    scan.note(f"Read {' '.join((scan.span(prev.start, num.end), noun)).strip()} as up to {_fmt(num.value)}.")
    return prev.start


def _opens_range(scan: _Scan, index: int) -> bool:
    """Whether this number is the lower bound of a range ("$3000 to $4000 a month") read with the upper one."""
    if index + 1 >= len(scan.nums):
        return False
    num, following = scan.nums[index], scan.nums[index + 1]
    between = scan.low[num.end : following.start]
    return scan.is_free(following.start, following.end) and bool(
        _RANGE_BETWEEN.fullmatch(_CUR_RIGHT.sub("", between, count=1))
        or (
            _BETWEEN_AND.fullmatch(between)
            and scan.low[max(0, num.start - 10) : num.start].strip() in ("between", "between $")
        )
    )


def _read_power(scan: _Scan, index: int, num: _Num) -> bool:
    unit = _KWH.match(scan.low, num.end)
    if unit:
        cents, end = (unit.group("unit") or "").startswith(("c", "\u00a2")), unit.end()
    elif _POWER_LEFT.search(scan.left(num.start)) and num.value < 100:
        cent = _CENTS.match(scan.low, num.end)
        cents, end = (True, cent.end()) if cent else (False, num.end)
        if not cents and num.value >= 5:
            return False
    else:
        return False
    value = num.value / 100 if cents else num.value
    return scan.set("power_cost_per_kwh", round(value, 6), num.start, end)


def _read_money(scan: _Scan, index: int, num: _Num) -> bool:
    left = scan.left(num.start, 12)
    cur_left = _CUR_LEFT.search(left)
    cur_right = _CUR_RIGHT.match(scan.low, num.end)
    grand = scan.low[num.start : num.end].endswith("grand")
    has_currency = bool(cur_left or cur_right or grand)
    end = cur_right.end() if cur_right else num.end
    period = _PERIOD.match(scan.low, end)
    start = num.start - len(left) + cur_left.start() if cur_left else num.start
    context = scan.left(start, 45)
    budget_word = bool(_BUDGET_WORD_LEFT.search(context) or _BUDGET_RIGHT.match(scan.low, end))
    if period:
        factor = _period_factor(period.group("p") or period.group("adv"))
        per_month = period.group("p") is not None and factor == 1.0
        if not (has_currency or budget_word or per_month or _SPEND_LEFT.search(context)):
            return False
        value = num.value * factor
        if factor != 1.0:
            scan.note(f"Read {scan.span(start, period.end())} as about ${_fmt(value)} per month.")
        return scan.set("budget_usd_month", round(value, 2), min(start, _range_start(scan, index, "")), period.end())
    if not (has_currency or budget_word) or _opens_range(scan, index):
        return False
    if not budget_word and _CAPEX.search(scan.low[slice(*scan.sentence(num.start))]):
        scan.note(f"Did not read {scan.span(start, end)} as a monthly budget: it sounds like a one-off purchase.")
        scan.take(start, end)
        return True
    if scan.expecting != "budget_usd_month" and num.value > 0:
        scan.note(f"Read {scan.span(start, end)} as a monthly budget.")
    return scan.set("budget_usd_month", round(num.value, 2), min(start, _range_start(scan, index, "")), end)


def _duration_ms(scan: _Scan, num: _Num) -> tuple[float, int] | None:
    for pattern, factor in ((_UNIT_MS, 1.0), (_UNIT_S, 1000.0), (_UNIT_MIN, 60_000.0)):
        unit = pattern.match(scan.low, num.end)
        if unit:
            return num.value * factor, unit.end()
    return None


def _read_duration(scan: _Scan, index: int, num: _Num) -> bool:
    duration = _duration_ms(scan, num)
    if duration is None:  # "TTFT 300": a bare number right after a latency keyword is in milliseconds
        adjacent = _METRIC_LEFT_ADJACENT.search(scan.left(num.start, 40))
        if adjacent is None or _OTHER_UNIT.match(scan.low, num.end) or _UNIT_MIN.match(scan.low, num.end):
            return False
        metric = next(name for name, pattern in _METRIC_WORDS if pattern.search(adjacent.group("kw")))
        return scan.set(metric, num.value, num.start, num.end)
    value, end = duration
    right = _RIGHT_METRIC.match(scan.low, end)
    if right and right.lastgroup:
        return scan.set(right.lastgroup, value, num.start, right.end())
    clause = scan.low[scan.clause_start(num.start) : num.start]
    best: tuple[int, str] | None = None
    for name, pattern in _METRIC_WORDS:
        for match in pattern.finditer(clause):
            if best is None or match.end() > best[0]:
                best = (match.end(), name)
    if best is not None:
        return scan.set(best[1], value, num.start, end)
    if scan.expecting in _LATENCY_FIELDS:
        return scan.set(scan.expecting, value, num.start, end)
    if not (_GENERIC_LATENCY_LEFT.search(clause) or _GENERIC_LATENCY_RIGHT.match(scan.low, end)):
        return False
    whole = _WHOLE_ANSWER.search(clause) and not _FIRST_WORDS.search(clause)
    if value <= 2000 and not whole:
        scan.note(f"Read {scan.span(num.start, end)} as the p95 time to first token.")
        return scan.set("ttft_p95_ms", value, num.start, end)
    scan.note(f"Read {scan.span(num.start, end)} as the p95 time for the whole answer (end to end).")
    return scan.set("e2e_p95_ms", value, num.start, end)


def _read_rate(scan: _Scan, index: int, num: _Num) -> bool:
    short = _RATE_SHORT.match(scan.low, num.end)
    long = None if short else _RATE_LONG.match(scan.low, num.end)
    if short:
        divisor, end = _rate_divisor(short.group("u")), short.end()
    elif long:
        divisor, end = _rate_divisor(long.group("p")), long.end()
    elif _RATE_LEFT.search(scan.left(num.start)) and not _OTHER_UNIT.match(scan.low, num.end):
        divisor, end = 1.0, num.end
    else:
        return False
    if _PER_USER.match(scan.low, end) or _PER_USER_LEFT.search(scan.left(num.start, 30)):
        scan.note(f"{scan.span(num.start, end)} is per user; I did not turn it into a total request rate.")
        scan.take(num.start, end)
        return True
    value = num.value / divisor
    if divisor == 86400.0:
        scan.note(f"{scan.span(num.start, end)} is a daily average ({value:.3g}/s); peaks are usually higher.")
    elif divisor != 1.0:
        scan.note(f"Read {scan.span(num.start, end)} as {value:.3g} requests per second.")
    return scan.set("qps", round(value, 6), _range_start(scan, index, "requests"), end)


def _token_pairs(scan: _Scan) -> None:
    """'2000 -> 300 tokens', '2000/300 tokens', '2k in, 300 out'."""
    expecting_tokens = scan.expecting in ("prompt_tokens", "output_tokens")
    for index in range(len(scan.nums) - 1):
        first, second = scan.nums[index], scan.nums[index + 1]
        between = scan.low[first.end : second.start]
        tokens_after = _TOKENS_AFTER.match(scan.low, second.end)
        arrow = _PAIR_ARROW.fullmatch(between)
        out = _PAIR_OUT.match(scan.low, second.end)
        if arrow and (tokens_after or "tok" in between or expecting_tokens):
            end = tokens_after.end() if tokens_after else second.end
        elif _PAIR_IN.fullmatch(between) and out:
            end = out.end()
        else:
            continue
        scan.set("prompt_tokens", round(first.value), first.start, end)
        scan.set("output_tokens", round(second.value), first.start, end)
        scan.used_nums.update({index, index + 1})


def _read_tokens(scan: _Scan, index: int, num: _Num) -> bool:
    """Token counts by their role: "8k input tokens", "input 8k tokens output 1k", "2k input / 300 output tokens",
    "prompts are about 2000 tokens and answers 500"; a bare "N tokens" with no role is asked about."""
    explicit = _TOKENS_ROLE_RIGHT.match(scan.low, num.end)
    if explicit is not None:
        return scan.set(_token_field(explicit), round(num.value), num.start, explicit.end())
    after = _TOKENS_AFTER.match(scan.low, num.end)
    start, stop = scan.sentence(num.start)
    about_tokens = "tok" in scan.low[start:stop]
    role = _TOKENS_ROLE_LEFT.search(scan.left(num.start, 30))
    bare_number = after is None and about_tokens and not _OTHER_UNIT.match(scan.low, num.end)
    speed = after is not None and _TOKENS_PER_SECOND.match(scan.low, after.end())
    if role is not None and (after is not None or bare_number) and not speed:
        return scan.set(_token_field(role), round(num.value), num.start, after.end() if after else num.end)
    right = _TOKENS_RIGHT.match(scan.low, num.end)
    if right is not None:
        return scan.set(_token_field(right), round(num.value), num.start, right.end())
    bare = _ROLE_RIGHT_BARE.match(scan.low, num.end)
    if bare is not None and about_tokens:
        return scan.set(_token_field(bare), round(num.value), num.start, bare.end())
    if after is None:
        return False
    speed_end = _TOKENS_PER_SECOND.match(scan.low, after.end())
    if speed_end is not None:
        end = speed_end.end()
        if 0 < num.value <= MAX_STREAM_TOKENS_PER_S and not _THROUGHPUT_LEFT.search(scan.left(num.start, 40)):
            itl = round(1000.0 / num.value, 1)
            scan.note(f"Read {scan.span(num.start, end)} (per user's stream) as an ITL target of {_fmt(itl)} ms.")
            return scan.set("itl_p95_ms", itl, num.start, end)
        scan.note(f"{scan.span(num.start, end)} is a total generation speed; I did not use it.")
        scan.take(num.start, end)
        return True
    if scan.expecting in ("prompt_tokens", "output_tokens"):
        return scan.set(scan.expecting, round(num.value), num.start, after.end())
    scan.note(f"{scan.span(num.start, after.end())}: is that the prompt or the answer? I left it out.")
    scan.take(num.start, after.end())
    return True


def _token_field(match: re.Match[str]) -> str:
    return "prompt_tokens" if match.group("in") else "output_tokens"


def _read_users(scan: _Scan, index: int, num: _Num) -> bool:
    right = _USERS_RIGHT.match(scan.low, num.end)
    if right:
        end = right.end()
    elif _USERS_LEFT.search(scan.left(num.start)) and not _OTHER_UNIT.match(scan.low, num.end):
        end = num.end
    else:
        return False
    at_once = _AT_ONCE.match(scan.low, end)
    concurrent = (right is not None and _CONCURRENT.search(right.group(0))) or at_once
    if concurrent:
        # Users active at the same moment already send requests: no active-user share applies to them.
        return scan.set(
            "concurrent_users", round(num.value), _range_start(scan, index, "users"), at_once.end() if at_once else end
        )
    return scan.set("users", round(num.value), _range_start(scan, index, "users"), end)


def _read_gpu_max(scan: _Scan, index: int, num: _Num) -> bool:
    right = _GPUS_RIGHT.match(scan.low, num.end)
    if right is None:
        return False
    capped = right.group("max") or _GPU_MAX_LEFT.search(scan.left(num.start, 30))
    if capped or _OWNED.search(scan.low[max(0, num.start - 40) : right.end()]):
        return scan.set("max_gpus", round(num.value), num.start, right.end())
    return False


_BARE_CONVERT: Final[Mapping[str, Callable[[float], float | int]]] = MappingProxyType(
    {
        "users": round,
        "qps": float,
        "budget_usd_month": lambda v: round(v, 2),
        "ttft_p95_ms": float,
        "itl_p95_ms": float,
        "e2e_p95_ms": float,
        "prompt_tokens": round,
        "output_tokens": round,
        "max_gpus": round,
        "power_cost_per_kwh": float,
    }
)


def _clears(scan: _Scan) -> None:
    """Restrictions the message lifts; their words are consumed so "drop the L4 filter" does not add L4."""
    for fields, note, pattern in _CLEARS:
        for match in pattern.finditer(scan.low):
            if scan.is_free(match.start(), match.end()):
                scan.lift(fields, note, match.start(), match.end())
    for match in _DROP_NAMED.finditer(scan.low):
        if scan.is_free(match.start(), match.end()):
            lifted = _lifted_by_name(scan.catalog, match.group("what"))
            if lifted is not None:
                scan.lift(*lifted, match.start(), match.end())


def _lifted_by_name(catalog: CatalogSnapshot, what: str) -> tuple[tuple[str, ...], str] | None:
    """Which restriction "drop the <what> filter" lifts: GPUs, models, quantisation, latency targets or budget."""
    by_field = {fields[0]: (fields, note) for fields, note, _ in _CLEARS}
    gpu_words = re.search(r"\b(?:gpus?|hardware|accelerators?)\b", what) or _VENDOR.search(what)
    if gpu_words or any(_alias_pattern(alias).search(what) for alias, _ in _gpu_aliases(catalog)):
        return by_field["gpus"]
    families = {re.split(r"[\s_-]+", m.name.lower())[0] for m in catalog.models}
    if re.search(r"\bmodels?\b", what) or families & set(re.split(r"[\s_./-]+", what)):
        return by_field["models"]
    if re.search(r"\b(?:quanti[sz]ation|precision|fp8|int4|int8|bf16|fp16)\b", what):
        return by_field["quantization"]
    if re.search(r"\b(?:latency|ttft|itl|e2e|slos?)\b", what):
        return by_field["ttft_p95_ms"]
    if re.search(r"\b(?:budget|cost|spend(?:ing)?)\b", what):
        return by_field["budget_usd_month"]
    return None


def _bare_answer(scan: _Scan) -> None:
    """A lone number answering the question just asked: 'about 500', '5k', '300' (ms), '0.12' ($/kWh)."""
    slot = scan.expecting
    if slot is None or slot not in _BARE_CONVERT or scan.values.get(slot) is not None:
        return
    for index, num in enumerate(scan.nums):
        if index in scan.used_nums or not scan.is_free(num.start, num.end):
            continue
        value, end = num.value, num.end
        cent = _CENTS.match(scan.low, num.end)
        if slot == "power_cost_per_kwh" and cent:
            value, end = num.value / 100, cent.end()
        elif not _BARE_FOLLOW.match(scan.low, num.end):
            continue
        if _opens_range(scan, index):
            continue  # the upper bound of "500-1000" is read next
        start = _range_start(scan, index, "")
        scan.set(slot, _BARE_CONVERT[slot](value), start, end)
        scan.used_nums.add(index)
        return


# --------------------------------------------------------------------------------------------------- words


def _quantization(scan: _Scan) -> None:
    allowed: list[Quantization] = []
    banned: list[Quantization] = []
    for fmt, pattern, negation_means_bf16 in _QUANT_PATTERNS:
        for match in pattern.finditer(scan.low):
            if not scan.is_free(match.start(), match.end()):
                continue
            scan.take(match.start(), match.end())
            span = scan.span(match.start(), match.end())
            if not negation_means_bf16 and scan.negated_at(match.start()):
                banned.append(fmt)
                scan.findings.append(Finding(field="quantization", value=f"not {fmt.value}", span=span))
                continue
            if re.search(r"int[\s-]?8", match.group(0)):
                scan.note("int8 is not in the catalog; I read it as fp8, the 8-bit format it has.")
            if fmt not in allowed:
                allowed.append(fmt)
                scan.findings.append(Finding(field="quantization", value=[fmt.value], span=span))
            if _ONLY_LEFT.search(scan.low[max(0, match.start() - 20) : match.start()]):
                scan.set_replace("quantization")
    if not allowed and banned:
        allowed = [q for q in Quantization if q not in banned]
        scan.set_replace("quantization")
    if allowed:
        scan.values["quantization"] = allowed


def _priority(scan: _Scan) -> None:
    strong: list[tuple[int, int, Priority]] = []
    weak: list[tuple[int, int, Priority]] = []
    for priority, pattern in _STRONG_PRIORITY:
        for match in pattern.finditer(scan.low):
            if "over" in match.group(0).split() and not _OVER_OTHER.search(match.group(0)):
                continue
            strong.append((match.start(), match.end(), priority))
    for match in _PRIORITY_LABEL.finditer(scan.low):
        if not _NEGATION.search(scan.words_before(match.start(), 3)):
            strong.append((match.start(), match.end(), _LABELLED_PRIORITY[match.group("value")]))
    for priority, pattern in (*_PRIORITY_WORDS, *_PRIORITY_MATTERS):
        for match in pattern.finditer(scan.low):
            if not scan.is_free(match.start(), match.end()):
                continue
            negated = _NEGATION.search(scan.words_before(match.start(), 4))
            if negated or _PRIORITY_NEG_RIGHT.match(scan.low, match.end()):
                continue
            if priority is Priority.LATENCY and _NOT_PRIORITY_RIGHT.match(scan.low, match.end()):
                continue
            weak.append((match.start(), match.end(), priority))
    if scan.expecting == "priority" and not strong and not weak:
        for priority, pattern in _PRIORITY_BARE:
            weak.extend((m.start(), m.end(), priority) for m in pattern.finditer(scan.low))
    chosen = sorted(strong or weak)
    if not chosen:
        return
    kinds = list(dict.fromkeys(p for _, _, p in chosen))
    if len(kinds) == 1 or strong:
        start, end, priority = chosen[0]
        scan.set("priority", priority, start, end)
        return
    balanced = [c for c in chosen if c[2] is Priority.BALANCED]
    start, end, _ = balanced[0] if balanced else chosen[0]
    if not balanced:
        scan.note(f"You asked for {' and '.join(k.value for k in kinds)} at once; I read that as balanced.")
    scan.set("priority", Priority.BALANCED, start, end)


def _pricing_and_ownership(scan: _Scan) -> None:
    found = [
        (model, match.start(), match.end())
        for model, pattern in _PRICING
        for match in pattern.finditer(scan.low)
        if not scan.negated_at(match.start())
    ]
    kinds = list(dict.fromkeys(m for m, _, _ in found))
    if len(kinds) == 1:
        scan.set("pricing_model", kinds[0], found[0][1], found[0][2])
    elif len(kinds) > 1:
        scan.note(f"You mentioned {' and '.join(k.value for k in kinds)} pricing; tell me which one to use.")

    owned = scan.owned_at
    if owned is None and (match := _OWNED.search(scan.low)):
        owned = (match.start(), match.end())
    purchase = [m for m in _PURCHASE.finditer(scan.low) if not scan.negated_at(m.start())]
    rental = [m for m in _RENTAL.finditer(scan.low) if not scan.negated_at(m.start())]
    if owned is not None:
        scan.set("deployment_model", DeploymentModel.OWNED_HARDWARE, *owned)
        if scan.owned_count is not None and "max_gpus" not in scan.values:
            scan.set("max_gpus", scan.owned_count, *owned)
    elif purchase:
        scan.set("deployment_model", DeploymentModel.PURCHASE, purchase[0].start(), purchase[0].end())
    elif rental:
        scan.set("deployment_model", DeploymentModel.CLOUD_RENTAL, rental[0].start(), rental[0].end())
    elif scan.expecting == "deployment_model" and (own := _OWN_BARE.search(scan.low)):
        scan.set("deployment_model", DeploymentModel.OWNED_HARDWARE, own.start(), own.end())


def _use_case_phrases(catalog: CatalogSnapshot) -> list[tuple[tuple[str, ...], str]]:
    """Stemmed phrases per use case, built once per catalog snapshot (extraction runs on every message)."""
    return catalog.derived("intent.use_case_phrases", _build_use_case_phrases)


def _build_use_case_phrases(catalog: CatalogSnapshot) -> list[tuple[tuple[str, ...], str]]:
    known = {t.use_case for t in catalog.templates}
    phrases: list[tuple[tuple[str, ...], str]] = []
    for template in catalog.templates:
        for phrase in (template.use_case.replace("_", " "), template.display_name, *template.synonyms):
            phrases.append((_phrase_tokens(phrase), template.use_case))
    for use_case, extra in EXTRA_USE_CASE_PHRASES:
        if use_case in known:
            phrases.extend((_phrase_tokens(p), use_case) for p in extra)
    return [(tokens, use_case) for tokens, use_case in phrases if tokens]


def _use_case(scan: _Scan) -> None:
    """Longest phrase wins (a scattered match of all its words counts too); ties go to the more specific use case."""
    spaced = re.sub(r"[-_/]", " ", scan.low)
    tokens = [(_stem(m.group(0)), m.start(), m.end()) for m in _WORD_TOKEN.finditer(spaced)]
    tokens = [t for t in tokens if scan.is_free(t[1], t[2])]
    stems = [t[0] for t in tokens]
    # rank: (matched words, exact phrase?, -position); value also keeps the span
    best: dict[str, tuple[tuple[int, bool, int], int, int]] = {}
    for phrase, use_case in _use_case_phrases(scan.catalog):
        size = len(phrase)
        for i, stem in enumerate(stems):
            if stem != phrase[0] and (size < 2 or stem not in phrase):
                continue
            if tuple(stems[i : i + size]) == phrase:
                rank, last = (size, True, -tokens[i][1]), i + size - 1
            elif size >= 2:
                window = stems[i : i + size + (1 if size == 2 else 3)]
                if not set(phrase) <= set(window):
                    continue
                rank, last = (size, False, -tokens[i][1]), i + max(window.index(p) for p in phrase)
            else:
                continue
            if _NOT_A.search(scan.low, max(0, tokens[i][1] - 14), tokens[i][1]):
                continue
            if use_case not in best or rank > best[use_case][0]:
                best[use_case] = (rank, tokens[i][1], tokens[last][2])
    if not best:
        return
    use_case, (_, start, end) = max(
        best.items(), key=lambda kv: (kv[1][0][0], kv[0] not in GENERIC_USE_CASES, kv[1][0][1], kv[1][0][2])
    )
    scan.set("use_case", use_case, start, end)


def _expected_use_case(scan: _Scan, dont_know: bool) -> None:
    """An answer to 'what is it for?' that names no known use case is kept, in the user's words, as a description."""
    if scan.expecting != "use_case" or "use_case" in scan.values or dont_know:
        return
    answer = " ".join(scan.text.split())
    if not re.search(r"[a-zA-Z]", answer):
        return
    try:
        use_case = scan.catalog.template(answer).use_case
    except NotFoundError:
        description = answer[:500]
        scan.values["use_case_description"] = description
        scan.findings.append(Finding(field="use_case_description", value=description, span=description))
        return
    scan.set("use_case", use_case, 0, len(scan.low))


def _dont_know(scan: _Scan) -> tuple[bool, list[str]]:
    match = _DONT_KNOW.search(scan.low)
    if match is None:
        return False, []
    if scan.expecting is not None:
        filled = scan.values.get(scan.expecting) not in (None, [])
        return (False, []) if filled else (True, [scan.expecting])
    start, end = scan.sentence(match.start())
    sentence = scan.low[start:end]
    topics = [name for name, pattern in _DONT_KNOW_TOPICS if pattern.search(sentence) and name not in scan.values]
    return True, topics[:1]


# --------------------------------------------------------------------------------------------------- entry point


def normalise_slot(expecting: str | None) -> str | None:
    """Map a question's slot name ("budget", "ttft", "users") onto a DeploymentIntent field, or None."""
    if expecting is None:
        return None
    slot = expecting.strip().lower()
    slot = SLOT_ALIASES.get(slot, slot)
    return slot if slot in SLOT_FIELDS else None


def _normalise_text(text: str) -> str:
    """Lower-case with same-length replacements (quotes, dashes), so positions in it are positions in `text`."""
    low = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
    return low.translate(_TYPOGRAPHY)


def extract(text: str, catalog: CatalogSnapshot, *, expecting: str | None = None) -> Extraction:
    """Read one user message. `expecting` is the slot the agent just asked about (a field name or an alias)."""
    truncated = len(text) > MAX_CHARS
    text = text[:MAX_CHARS]
    scan = _Scan(text=text, low=_normalise_text(text), catalog=catalog, expecting=normalise_slot(expecting))
    _clears(scan)
    if truncated:
        scan.note(f"Only the first {MAX_CHARS:,} characters were read.")
    if expecting is not None and scan.expecting is None:
        scan.note(f"Unknown question slot {expecting!r}; read the answer without it.")

    _find_gpus(scan)
    _find_models(scan)
    _quantization(scan)
    scan.nums = _numbers(scan)
    scan.num_ends = [n.end for n in scan.nums]
    _apply_mentions(scan)
    _classify_numbers(scan)
    _pricing_and_ownership(scan)
    _priority(scan)
    _use_case(scan)
    _bare_answer(scan)
    dont_know, unknown = _dont_know(scan)
    _expected_use_case(scan, dont_know)

    for fields, note in scan.lifted:
        if not any(scan.values.get(f) for f in fields):
            scan.note(note)
    intent = DeploymentIntent.model_validate({**scan.values, "unknown_fields": unknown})
    replace = [name for name in scan.replace if name in LIST_FIELDS]
    return Extraction(
        intent=intent, findings=scan.findings, dont_know=dont_know, replace=replace, clear=scan.clear, notes=scan.notes
    )


def literal_numbers(text: str) -> set[float]:
    """Every number the text writes, as written and with its multiplier applied ("5k" -> {5, 5000})."""
    low = _normalise_text(text[:MAX_CHARS])
    found: set[float] = set()
    for match in _NUM.finditer(low):
        digits = float(match.group("digits").replace(",", ""))
        found.add(digits)
        if match.group("mult"):
            found.add(digits * _MULTS[match.group("mult")])
        elif match.group("scale"):
            found.add(digits * _SCALES[match.group("scale")])
    found.update(_word_number(m) for m in _WORD_NUM.finditer(low))
    for match in _WORD_DURATION.finditer(low):
        amount = _duration_amount(match, low)
        if amount is not None:
            found.update({amount, amount * 1000, amount * 60_000})
    return found
