"""Static vocabulary of the synthetic world: niches, their hashtags, generic tags, captions.

Tags are listed in the spelling people post them (mixed case); the engine normalises them.
The niches JSON written next to a scenario uses the lower-case canonical forms, so a
scenario exercises normalisation from the first event. One niche tracks a generic tag
(``GENERIC_TRACKED_TAG``) as well as its specific ones, as operators sometimes do: its
matches are diluted by posts that say nothing about the community.
"""

from __future__ import annotations

from typing import Final

# niche -> hashtags as commonly posted; the first is the "main" tag of the niche.
NICHE_TAGS: Final[dict[str, tuple[str, ...]]] = {
    "fountainpens": ("#FountainPens", "#InkSwatch", "#PenAddict", "#FountainPenInk", "#Calligraphy"),
    "sourdough": ("#Sourdough", "#SourdoughBread", "#WildYeast", "#Crumbshot", "#RealBread"),
    "bouldering": ("#Bouldering", "#ClimbingGym", "#BoulderProblem", "#Climbing", "#Sendit"),
    "mechanicalkeyboards": ("#MechanicalKeyboards", "#MechKeys", "#Keycaps", "#CustomKeyboard", "#Thocky"),
    "houseplants": ("#Houseplants", "#PlantsOfInstagram", "#Monstera", "#UrbanJungle", "#PlantParent"),
    "filmphotography": ("#FilmPhotography", "#35mm", "#FilmIsNotDead", "#BelieveInFilm", "#Analog",
                        "#PhotoOfTheDay"),
    "birding": ("#Birding", "#BirdWatching", "#BirdsOfInstagram", "#BirdPhotography", "#Birder"),
    "knitting": ("#Knitting", "#KnittersOfInstagram", "#YarnLove", "#Knitstagram", "#HandKnit"),
}

# Tags that say nothing about a community; spam accounts live on them.
GENERIC_TAGS: Final[tuple[str, ...]] = (
    "#love", "#instagood", "#photooftheday", "#follow4follow", "#likeforlike",
    "#fyp", "#viral", "#explore", "#picoftheday", "#instadaily",
)

# niche -> the generic tag it tracks (also in GENERIC_TAGS).
GENERIC_TRACKED_TAG: Final[dict[str, str]] = {"filmphotography": "#PhotoOfTheDay"}
# Tags that accounts in the habit of generic tagging put on most of their posts.
HABITUAL_GENERIC_TAGS: Final[tuple[str, ...]] = ("#love", "#instagood", "#fyp")

NICHE_WORDS: Final[dict[str, tuple[str, ...]]] = {
    "fountainpens": ("ink", "nib", "pen", "scribe", "quill", "journal"),
    "sourdough": ("crumb", "loaf", "starter", "levain", "bake", "crust"),
    "bouldering": ("crimp", "boulder", "chalk", "send", "dyno", "beta"),
    "mechanicalkeyboards": ("thock", "switch", "keycap", "clack", "tactile", "linear"),
    "houseplants": ("leaf", "fern", "monstera", "pothos", "sprout", "jungle"),
    "filmphotography": ("grain", "film", "kodak", "shutter", "lens", "darkroom"),
    "birding": ("warbler", "finch", "owl", "heron", "wren", "binocular"),
    "knitting": ("yarn", "stitch", "purl", "wool", "knit", "skein"),
}

HANDLE_SUFFIXES: Final[tuple[str, ...]] = (
    "journal", "life", "daily", "club", "lab", "notes", "studio", "corner", "diaries", "co",
)

CAPTIONS: Final[dict[str, tuple[str, ...]]] = {
    "fountainpens": ("New ink swatch today", "Nib tuning session", "Which converter do you use?"),
    "sourdough": ("Open crumb at last", "Starter day 12", "Overnight proof, 78% hydration"),
    "bouldering": ("Finally sent the purple V5", "Board session", "Heel hook beta"),
    "mechanicalkeyboards": ("Lubed switches sound test", "New keycap set arrived", "Tape mod before and after"),
    "houseplants": ("New leaf unfurling", "Repotting day", "Propagation station update"),
    "filmphotography": ("Roll 42 developed", "Portra at golden hour", "Home scanning setup"),
    "birding": ("First warbler of spring", "Dawn chorus walk", "Lifer today!"),
    "knitting": ("Sweater progress", "Cast on a new shawl", "Hand-dyed skeins"),
}

SPAM_CAPTIONS: Final[tuple[str, ...]] = (
    "Follow for more!", "Like and follow", "Daily vibes", "Check my bio", "Follow back guaranteed",
)

PLATFORMS: Final[tuple[tuple[str, float], ...]] = (("instagram", 0.6), ("tiktok", 0.25), ("youtube", 0.15))


def canonical_niches() -> dict[str, list[str]]:
    """The niche definitions an operator would load: lower-case tags without '#'."""
    return {niche: [tag.lstrip("#").lower() for tag in tags] for niche, tags in NICHE_TAGS.items()}
