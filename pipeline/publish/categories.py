"""Apple Podcasts' categories: 19 categories and their 91 subcategories (110 names in all), as
Apple's "Apple Podcasts categories" page lists them, written as `<itunes:category text=...>`.

The Podcasting 2.0 namespace's `categories.json` is not this list: it is the Podcast Index's own
flat list of single words ("Performing" for "Performing Arts", "Kids" and "Family" for
"Kids & Family") with a few categories Apple does not have (Climate, Cryptocurrency), so a feed
written from it could name categories Apple does not know. Kept as data here, cheap to import:
series files are checked against it whenever they are read.
"""

from __future__ import annotations

import difflib

APPLE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Arts": ("Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts"),
    "Business": ("Careers", "Entrepreneurship", "Investing", "Management", "Marketing", "Non-Profit"),
    "Comedy": ("Comedy Interviews", "Improv", "Stand-Up"),
    "Education": ("Courses", "How To", "Language Learning", "Self-Improvement"),
    "Fiction": ("Comedy Fiction", "Drama", "Science Fiction"),
    "Government": (),
    "History": (),
    "Health & Fitness": ("Alternative Health", "Fitness", "Medicine", "Mental Health", "Nutrition", "Sexuality"),
    "Kids & Family": ("Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"),
    "Leisure": ("Animation & Manga", "Automotive", "Aviation", "Crafts", "Games", "Hobbies", "Home & Garden",
                "Video Games"),
    "Music": ("Music Commentary", "Music History", "Music Interviews"),
    "News": ("Business News", "Daily News", "Entertainment News", "News Commentary", "Politics", "Sports News",
             "Tech News"),
    "Religion & Spirituality": ("Buddhism", "Christianity", "Hinduism", "Islam", "Judaism", "Religion",
                                "Spirituality"),
    "Science": ("Astronomy", "Chemistry", "Earth Sciences", "Life Sciences", "Mathematics", "Natural Sciences",
                "Nature", "Physics", "Social Sciences"),
    "Society & Culture": ("Documentary", "Personal Journals", "Philosophy", "Places & Travel", "Relationships"),
    "Sports": ("Baseball", "Basketball", "Cricket", "Fantasy Sports", "Football", "Golf", "Hockey", "Rugby",
               "Running", "Soccer", "Swimming", "Tennis", "Volleyball", "Wilderness", "Wrestling"),
    "Technology": (),
    "True Crime": (),
    "TV & Film": ("After Shows", "Film History", "Film Interviews", "Film Reviews", "TV Reviews"),
}
SEPARATOR = ">"
"""series.yaml writes a subcategory after its category: `category: Science > Natural Sciences`."""


def parse_category(value: str) -> tuple[str, str | None]:
    """A series.yaml `category:` as (category, subcategory or None), spelled as Apple spells them
    (case and spacing forgiven); ValueError with a suggestion when Apple has no such category."""
    parts = [" ".join(part.split()) for part in value.split(SEPARATOR)]
    if len(parts) > 2 or not all(parts):
        raise ValueError(f"write a category, or a category and a subcategory as `Science {SEPARATOR} Physics`")
    parent = _spelled(parts[0], APPLE_CATEGORIES)
    if parent is None:
        subs = [p for p, children in APPLE_CATEGORIES.items() if _spelled(parts[0], children)]
        if len(parts) == 1 and subs:
            child = _spelled(parts[0], APPLE_CATEGORIES[subs[0]])
            raise ValueError(f"{parts[0]!r} is a subcategory: write `{subs[0]} {SEPARATOR} {child}`")
        raise ValueError(f"{parts[0]!r} is not one of Apple's categories{_suggestion(parts[0], APPLE_CATEGORIES)}")
    if len(parts) == 1:
        return parent, None
    child = _spelled(parts[1], APPLE_CATEGORIES[parent])
    if child is None:
        known = ", ".join(APPLE_CATEGORIES[parent]) or "none"
        raise ValueError(f"{parts[1]!r} is not a subcategory of {parent} (Apple's: {known})")
    return parent, child


def is_apple_category(parent: str, child: str | None = None) -> bool:
    """Whether `parent` (and `child` under it) is exactly as Apple spells it."""
    return parent in APPLE_CATEGORIES and (child is None or child in APPLE_CATEGORIES[parent])


def _spelled(name: str, known) -> str | None:
    folded = name.casefold()
    return next((k for k in known if k.casefold() == folded), None)


def _suggestion(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (Apple's: {', '.join(known)})"
