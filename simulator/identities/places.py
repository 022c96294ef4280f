"""Real INSEE COG codes used as birth places of generated identities.

Communes are coded department (2) + commune (3); Corsica uses ``2A``/``2B``;
overseas departments use 3 + 2 (``974`` + ``11``); people born abroad carry
``99`` + the INSEE country code.
"""
from __future__ import annotations

#: (COG, label) pairs.
PLACES: tuple[tuple[str, str], ...] = (
    # Metropolitan France
    ("75056", "Paris"),
    ("69123", "Lyon"),
    ("13055", "Marseille"),
    # Civil status in Paris, Lyon and Marseille is kept per arrondissement, so
    # the RNIPP birth place (and NIR) of people born there is the arrondissement.
    ("75112", "Paris 12e Arrondissement"),
    ("75114", "Paris 14e Arrondissement"),
    ("75115", "Paris 15e Arrondissement"),
    ("75118", "Paris 18e Arrondissement"),
    ("69383", "Lyon 3e Arrondissement"),
    ("69388", "Lyon 8e Arrondissement"),
    ("13205", "Marseille 5e Arrondissement"),
    ("13208", "Marseille 8e Arrondissement"),
    ("31555", "Toulouse"),
    ("33063", "Bordeaux"),
    ("59350", "Lille"),
    ("44109", "Nantes"),
    ("67482", "Strasbourg"),
    ("34172", "Montpellier"),
    ("35238", "Rennes"),
    ("06088", "Nice"),
    ("63113", "Clermont-Ferrand"),
    ("21231", "Dijon"),
    ("37261", "Tours"),
    ("87085", "Limoges"),
    ("51454", "Reims"),
    ("76351", "Le Havre"),
    ("42218", "Saint-Étienne"),
    ("83137", "Toulon"),
    ("38185", "Grenoble"),
    ("49007", "Angers"),
    ("30189", "Nîmes"),
    ("57463", "Metz"),
    ("54395", "Nancy"),
    ("68224", "Mulhouse"),
    ("68066", "Colmar"),
    ("88160", "Épinal"),
    ("08105", "Charleville-Mézières"),
    ("52121", "Chaumont"),
    ("66136", "Perpignan"),
    ("76540", "Rouen"),
    ("14118", "Caen"),
    ("80021", "Amiens"),
    ("25056", "Besançon"),
    ("45234", "Orléans"),
    ("86194", "Poitiers"),
    ("29019", "Brest"),
    ("72181", "Le Mans"),
    ("13001", "Aix-en-Provence"),
    # Corsica
    ("2A004", "Ajaccio"),
    ("2B033", "Bastia"),
    ("2A247", "Porto-Vecchio"),
    ("2B096", "Corte"),
    # Overseas departments
    ("97411", "Saint-Denis (La Réunion)"),
    ("97416", "Saint-Pierre (La Réunion)"),
    ("97209", "Fort-de-France"),
    ("97120", "Pointe-à-Pitre"),
    ("97105", "Basse-Terre"),
    ("97302", "Cayenne"),
    ("97611", "Mamoudzou"),
    # Born abroad: 99 + INSEE country code
    ("99109", "Allemagne"),
    ("99127", "Italie"),
    ("99134", "Espagne"),
    ("99139", "Portugal"),
    ("99131", "Belgique"),
    ("99140", "Suisse"),
    ("99132", "Royaume-Uni"),
    ("99135", "Pays-Bas"),
    ("99122", "Pologne"),
    ("99114", "Roumanie"),
    ("99350", "Maroc"),
    ("99351", "Tunisie"),
    ("99352", "Algérie"),
    ("99341", "Sénégal"),
    ("99326", "Côte d'Ivoire"),
    ("99322", "Cameroun"),
    ("99208", "Turquie"),
    ("99243", "Viet Nam"),
    ("99216", "Chine"),
    ("99401", "Canada"),
    ("99404", "États-Unis"),
)

LABELS: dict[str, str] = dict(PLACES)
#: Commune codes of Paris, Lyon and Marseille: valid COGs but never a birth place.
PLM_COMMUNES = frozenset({"75056", "69123", "13055"})


def is_corsica(cog: str) -> bool:
    """True for a Corsican commune (department ``2A`` or ``2B``)."""
    return cog[:2] in ("2A", "2B")


def is_abroad(cog: str) -> bool:
    """True for a foreign country code (``99xxx``)."""
    return cog.startswith("99")


def is_overseas(cog: str) -> bool:
    """True for an overseas department or collectivity commune (``97x``/``98x``)."""
    return cog[:2] in ("97", "98")


def is_metropolitan(cog: str) -> bool:
    """True for a commune of metropolitan France, Corsica included."""
    return not (is_abroad(cog) or is_overseas(cog))


CORSICA = tuple(cog for cog, _ in PLACES if is_corsica(cog))
OVERSEAS = tuple(cog for cog, _ in PLACES if is_overseas(cog))
ABROAD = tuple(cog for cog, _ in PLACES if is_abroad(cog))
#: Mainland birth places (Corsica and the Paris/Lyon/Marseille commune codes excluded).
MAINLAND = tuple(
    cog for cog, _ in PLACES
    if is_metropolitan(cog) and not is_corsica(cog) and cog not in PLM_COMMUNES
)
#: (pool, weight) used to draw a birth place: mostly mainland, some abroad.
PLACE_WEIGHTS: tuple[tuple[tuple[str, ...], float], ...] = (
    (MAINLAND, 0.84), (CORSICA, 0.01), (OVERSEAS, 0.04), (ABROAD, 0.11),
)
