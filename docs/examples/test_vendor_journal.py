"""Example: checking what your software sent, with the simulator's journal.

Every journal read is complete when it returns: the exchange your code just made is in
it, whichever server worker answered it. No sleep, no retry loop. ``find_ins`` is the
client of the other example (test_vendor_client.py), standing for your software.
"""
from test_vendor_client import find_ins


def test_the_search_was_sent_once_with_our_software_name(insi_dmp_sim):
    find_ins(insi_dmp_sim.insi_url, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26")
    insi_dmp_sim.assert_sent(times=1, service="insi", operation="rechercherInsAvecTraitsIdentite",
                             software="my-dpi", outcome="CR 00")
    insi_dmp_sim.assert_not_sent(operation="rechercherInsAvecCarteVitale")


def test_every_call_is_counted_at_once(insi_dmp_sim):
    for number in range(1, 21):
        find_ins(insi_dmp_sim.insi_url, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26")
        assert insi_dmp_sim.count(service="insi") == number


def test_only_what_came_after_a_mark(insi_dmp_sim):
    find_ins(insi_dmp_sim.insi_url, "DE VINCI", "LEONARDO", "M", "2014-02-01")
    mark = insi_dmp_sim.mark()
    find_ins(insi_dmp_sim.insi_url, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26")
    after = insi_dmp_sim.find(since=mark)
    assert [entry["outcome"] for entry in after] == ["CR 00"]


def test_the_request_as_it_was_sent(insi_dmp_sim):
    find_ins(insi_dmp_sim.insi_url, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26")
    exchange = insi_dmp_sim.journal_entry(insi_dmp_sim.mark())
    assert "<Prenom>DOMINIQUE</Prenom>" in exchange["request_body"]
    assert "<CodeCR>00</CodeCR>" in exchange["response_body"]

