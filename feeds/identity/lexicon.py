"""The word lists of the identity rules (:mod:`.rules`): small, hand-written, case-folded.

Edit them like the taxonomy: a word added to a direction pair, a demonym, a common
headline-initial word. ``tests/data/version-pairs.tsv`` measures the effect of a change.
"""

from __future__ import annotations


def _forms(text: str) -> list[str]:
    """The words of ``text`` (split at spaces and at ``/``, which joins the forms of one word)."""
    return text.replace("/", " ").split()


_PAIRS: dict[str, tuple[list[str], list[str]]] = {
    # group: (words of one polarity, words of the opposite one); "a/b/c" lists a word's forms
    "level": (
        _forms(
            "rise/rises/rising/rose/risen climb/climbs/climbed gain/gains/gained jump/jumps/jumped "
            "soar/soars/soared surge/surges/surged rally/rallies/rallied advance/advances/advanced up "
            "higher increase/increases/increased raise/raises/raised hike/hikes/hiked "
            "boost/boosts/boosted grow/grows/grew/grown rebound/rebounds/rebounded spike/spikes/spiked "
            "expand/expands/expanded more highs high strengthen/strengthens/strengthened "
            "accelerate/accelerates/accelerated"
        ),
        _forms(
            "fall/falls/falling/fell/fallen drop/drops/dropped slip/slips/slipped slide/slides/slid "
            "slump/slumps/slumped plunge/plunges/plunged tumble/tumbles/tumbled sink/sinks/sank/sunk "
            "dip/dips/dipped decline/declines/declined down lower lowers/lowered "
            "decrease/decreases/decreased cut/cuts slash/slashes/slashed reduce/reduces/reduced "
            "shrink/shrinks/shrank contract/contracts/contracted fewer less lows low "
            "weaken/weakens/weakened slow/slows/slowed cool/cools/cooled"
        ),
    ),
    "win": (
        _forms("win/wins/winning/won beat/beats defeat/defeats victory victorious triumph/triumphs"),
        _forms("lose/loses/losing/lost beaten defeated"),
    ),
    "custody": (
        _forms(
            "arrest/arrests/arrested detain/detains/detained jail/jails/jailed "
            "capture/captures/captured charge/charges/charged convict/convicts/convicted guilty "
            "sentence/sentences/sentenced"
        ),
        _forms(
            "release/releases/released free/frees/freed acquit/acquits/acquitted clear/clears/cleared "
            "innocent pardon/pardons/pardoned bail"
        ),
    ),
    "measure": (
        _forms(
            "impose/imposes/imposed declare/declares/declared introduce/introduces/introduced "
            "slap/slaps/slapped extend/extends/extended tighten/tightens/tightened ban/bans/banned"
        ),
        _forms(
            "lift/lifts/lifted remove/removes/removed scrap/scraps/scrapped ease/eases/eased "
            "end/ends/ended loosen/loosens/loosened allow/allows/allowed unban/unbans/unbanned"
        ),
    ),
    "verdict": (
        _forms(
            "approve/approves/approved pass/passes/passed agree/agrees/agreed accept/accepts/accepted "
            "back/backs/backed endorse/endorses/endorsed ratify/ratifies/ratified yes "
            "confirm/confirms/confirmed admit/admits/admitted uphold/upholds/upheld"
        ),
        _forms(
            "reject/rejects/rejected block/blocks/blocked veto/vetoes/vetoed oppose/opposes/opposed "
            "refuse/refuses/refused deny/denies/denied overturn/overturns/overturned"
        ),
    ),
    "state": (
        _forms(
            "open/opens/opened reopen/reopens/reopened start/starts/started begin/begins/began "
            "resume/resumes/resumed launch/launches/launched restart/restarts/restarted "
            "expand/expands/expanded"
        ),
        _forms(
            "close/closes/closed shut/shuts halt/halts/halted stop/stops/stopped "
            "suspend/suspends/suspended pause/pauses/paused cancel/cancels/cancelled/canceled "
            "delay/delays/delayed postpone/postpones/postponed complete/completes/completed "
            "finish/finishes/finished"
        ),
    ),
    "post": (
        _forms(
            "hire/hires/hired appoint/appoints/appointed name/names/named elect/elects/elected "
            "nominate/nominates/nominated join/joins/joined rejoin/rejoins/rejoined "
            "enter/enters/entered sign/signs/signed"
        ),
        _forms(
            "fire/fires/fired sack/sacks/sacked dismiss/dismisses/dismissed oust/ousts/ousted "
            "resign/resigns/resigned quit/quits leave/leaves/left exit/exits/exited "
            "withdraw/withdraws/withdrew/withdrawn"
        ),
    ),
    "test": (
        _forms("positive"),
        _forms("negative"),
    ),
    "harm": (
        _forms("kill/kills/killed/killing dead dies/died death/deaths"),
        _forms("injure/injures/injured/injuring wound/wounds/wounded hurt/hurts survive/survives/survived"),
    ),
    "peace": (
        _forms("ceasefire truce peace agree/agrees/agreed deal"),
        _forms(
            "collapse/collapses/collapsed breach/breaches/breached violate/violates/violated "
            "break/breaks/broke fail/fails/failed"
        ),
    ),
    "mood": (
        _forms("strong/stronger boom/booms optimism optimistic surplus profit/profits"),
        _forms("weak/weaker bust pessimism pessimistic misses deficit loss/losses"),
    ),
}

_DRAWN = _forms("draw/draws/drew/drawn tie/ties/tied")
"""Results that are neither a win nor a loss (polarity 0 in the ``win`` group)."""

_STEADY = _forms(
    "steady/steadies/steadied stabilise/stabilises/stabilised stabilize/stabilizes/stabilized flat "
    "unchanged hold/holds/held"
)
"""Level words that point neither up nor down (polarity 0)."""

DIRECTIONS: dict[str, list[tuple[str, int]]] = {}
"""Word -> its (group, +1 or -1) pairs: words of one group with opposite signs point opposite ways."""
for _group, (_plus, _minus) in _PAIRS.items():
    for _words, _sign in ((_plus, 1), (_minus, -1)):
        for _w in _words:
            if _group not in [g for g, _ in DIRECTIONS.get(_w, [])]:
                DIRECTIONS.setdefault(_w, []).append((_group, _sign))
for _w in _STEADY:
    DIRECTIONS.setdefault(_w, []).append(("level", 0))
for _w in _DRAWN:
    DIRECTIONS.setdefault(_w, []).append(("win", 0))

NEGATIONS = frozenset(["not", "no", "never", "without", "nor", "neither", "none", "cannot"])
"""Words that turn a title's statement around."""

KINDS = frozenset(
    _forms(
        "dollar dollars euro euros yen pound pounds sterling yuan renminbi ruble rouble rupee peso "
        "franc lira rand real gold silver copper platinum palladium oil crude brent gas coal wheat corn "
        "maize soybeans soy coffee cocoa sugar cotton rice bitcoin ether iron steel aluminium aluminum "
        "nickel zinc lithium uranium stocks bonds treasuries"
    )
)
"""Lower-case words that name what a market story is about: a currency, a commodity, an asset class."""

REPEATS = frozenset(["again", "another", "renewed", "anew", "latest"])
"""Words that mark a repeat of an event ("erupts again"): a title without one is another story."""

INCREMENTS = frozenset(["more", "additional", "further", "new", "other", "others"])
"""Words that after a figure make it an addition to an earlier count ("3 more killed")."""

NUMBER_WORDS = {w: str(n) for n, w in enumerate(_forms("zero one two three four five six seven eight nine"))}
"""Figures written as words, read as figures."""

ORDINALS = frozenset(
    _forms(
"first second third fourth fifth sixth seventh eighth ninth tenth last final semi quarter"
    )
)
"""Ordinal words: like names, one changed for another makes another story (first round / second round)."""

LABELS = frozenset(
    _forms(
        "round leg stage game match category level phase flight route grade article section group "
        "division tier number no term season episode chapter gate terminal platform line unit block "
        "zone district ward bus train apollo"
    )
)
"""Words after which a figure is a label, not a count (``round of 16``, ``Category 3``)."""

PHRASES: tuple[tuple[str, str], ...] = (
    ("United States", "US"),
    ("United Kingdom", "UK"),
    ("United Nations", "UN"),
    ("European Union", "EU"),
    ("U.S.", "US"),
    ("U.K.", "UK"),
)
"""Multi-word names spelled as one (applied before tokenising)."""

_COUNTRIES = {
    "us": "american/americans/washington", "uk": "british/britain/briton/britons/london",
    "israel": "israeli", "palestine": "palestinian", "russia": "russian/moscow",
    "ukraine": "ukrainian/kyiv/kiev", "china": "chinese/beijing", "france": "french/paris",
    "germany": "german/berlin", "iran": "iranian/tehran",
    "iraq": "iraqi/baghdad", "syria": "syrian/damascus", "turkey": "turkish/ankara", "india": "indian",
    "pakistan": "pakistani", "afghanistan": "afghan", "japan": "japanese/tokyo", "korea": "korean",
    "italy": "italian/rome", "spain": "spanish/madrid", "mexico": "mexican", "brazil": "brazilian",
    "canada": "canadian/ottawa", "australia": "australian/canberra", "egypt": "egyptian/cairo",
    "lebanon": "lebanese/beirut", "yemen": "yemeni", "sudan": "sudanese", "nigeria": "nigerian",
    "kenya": "kenyan", "ethiopia": "ethiopian", "somalia": "somali", "saudi": "saudis",
    "greece": "greek/athens", "poland": "polish/warsaw", "sweden": "swedish", "norway": "norwegian",
    "denmark": "danish", "netherlands": "dutch", "belgium": "belgian", "switzerland": "swiss",
    "austria": "austrian", "portugal": "portuguese", "ireland": "irish/dublin", "scotland": "scottish",
    "wales": "welsh", "england": "english", "argentina": "argentine/argentinian", "chile": "chilean",
    "peru": "peruvian", "colombia": "colombian", "venezuela": "venezuelan", "cuba": "cuban",
    "indonesia": "indonesian", "philippines": "filipino/philippine", "vietnam": "vietnamese",
    "thailand": "thai", "myanmar": "burmese", "bangladesh": "bangladeshi", "nepal": "nepalese",
    "taiwan": "taiwanese", "hungary": "hungarian", "romania": "romanian", "serbia": "serbian",
    "croatia": "croatian", "libya": "libyan", "tunisia": "tunisian", "algeria": "algerian",
    "morocco": "moroccan", "jordan": "jordanian", "qatar": "qatari", "haiti": "haitian",
    "ghana": "ghanaian", "zimbabwe": "zimbabwean", "congo": "congolese", "finland": "finnish",
    "czechia": "czech", "slovakia": "slovak", "bulgaria": "bulgarian", "georgia": "georgian",
    "armenia": "armenian", "azerbaijan": "azerbaijani", "belarus": "belarusian", "kazakhstan": "kazakh",
    "europe": "european", "africa": "african", "asia": "asian",
}
DEMONYMS: dict[str, str] = {
    form: country for country, forms in _COUNTRIES.items() for form in [country, *forms.split("/")]
}
"""Case-folded country, demonym or capital -> the country it names (so "Israeli" == "Israel")."""

FUNCTION = frozenset(
    _forms(
        "a an the of in on at to for by with and or as is are was be been from after before over into "
        "its it s says say said this that these those his her their our new how why what who when where "
        "which will would could should can may might has have had than then there here amid despite "
        "against while about up down out off per via vs v"
    )
)
"""Words that are never names and never count as the word between two roles."""

COMMON = frozenset(
    _forms(
        "stocks shares markets market oil gold bonds dollar prices price inflation wages jobs "
        "unemployment police officials troops rebels militants soldiers protesters protests workers "
        "doctors nurses teachers students voters lawmakers leaders ministers minister president premier "
        "judge court jury prosecutors government parliament senate congress army navy military fire "
        "floods flood storm hurricane typhoon quake earthquake blast explosion bomb attack attacks "
        "strike strikes drone missile rocket shelling clashes fighting war talks deal vote election "
        "elections poll polls report study survey scientists researchers experts health hospital virus "
        "outbreak vaccine death deaths toll dozens hundreds thousands man woman boy girl child children "
        "family families mother father teen couple residents villagers migrants refugees passengers "
        "crew plane train bus ship boat car crash rescue rescuers search firefighters heatwave drought "
        "wildfire wildfires snow rain heavy record top former ex chief head boss ceo firm company "
        "companies bank banks central tech startup giant carmaker airline retailer investors traders "
        "regulators watchdog union unions strikers fans players coach team club champions striker "
        "captain star stars singer actor film museum art royal opposition ruling party coalition "
        "cabinet state states city town village region capital border coast island islands gunmen "
        "suspect suspects victims survivors millions billions half one two three four five six seven "
        "eight nine ten first second third last rare big huge major minor key new fresh early late more "
        "most some many few all no global world national local federal regional breaking update updated "
        "exclusive analysis explainer live watch magnitude tropical powerful deadly massive fatal "
        "lawsuit trial verdict sentence ruling mayor governor budget tax taxes tariffs tariff sanctions "
        "exports imports trade growth economy output sales profits factory factories manufacturing "
        "housing home homes rent rates rate interest lenders borrowing debt wall"
    )
)
"""Capitalised words that begin a headline without being a name ("Stocks", "Police", "Quake")."""
