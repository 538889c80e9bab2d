"""Themes: reviewer-defined profile themes (with evidence) and discovered topics.

* :mod:`.profile` — load/validate the TOML profiles in ``models/profiles/``;
* :mod:`.cues` — char-level cue matching (terms and pattern anchors in one numpy pass over the essay, Aho–Corasick per sentence; regex patterns tried near their anchors);
* :mod:`.detect` — :class:`ThemeDetector`, the essay-scope stage;
* :mod:`.topics` — :class:`TopicModeler`, the cohort-scope stage (NMF / LDA);
* :mod:`.init` — draft a profile from the studied document (``xinde profile init``).

Nothing heavy is imported here; import the submodules you need.
"""
