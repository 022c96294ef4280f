"""``patientsSpecific?wsdl`` by date: with TD1.5a-d until their removal, ``patientList``
only from it (``td15-removed``), as the official DMP WSDL package 2.01.04 of 2024-06-11
(issue 12). A client generated before keeps calling TD1.5 and gets the removal fault; a
client generated after has no TD1.5 operation."""
from __future__ import annotations

from simulator.services.dmp.binding import WSDL_DIR, DmpBinding
from simulator.soap.documents import WsdlDocuments

REMOVED_WSDL = "patientsSpecific-2.01.04.wsdl"


class DatedWsdlBinding(DmpBinding):
    """A DMP binding whose WSDL changes on the TD1.5 removal day (simulated clock)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.removed_documents = WsdlDocuments(WSDL_DIR, REMOVED_WSDL)

    def serve_document(self, environ):
        """The WSDL (and XSDs) of the simulated day."""
        context = self.context
        removed = context.calendar.td15_rule(context.clock.today()).name == "td15-removed"
        return (self.removed_documents if removed else self.documents).serve(environ)
