"""Calling a spyne method on a body read straight from the parsed tree.

The services are declared with spyne (``@rpc`` methods, ComplexModels mirroring the
official XSDs). Running a request through spyne's own request path (a MethodContext,
the envelope decomposed again, the generic ``from_element``, ``process_request``) cost
an INSi search about 250 µs of its 860, to rebuild a five-field object from an envelope
lxml had already parsed (issue 15). This module builds the object spyne would build,
from the same declarations, and calls the method as spyne calls it, for the documents
whose reading is unambiguous:

- the body element is the first child of soap:Body (spyne takes ``Body[0]``), without
  ``xsi:nil`` or ``xsi:type`` (spyne's other readings of an element);
- a ComplexModel's children are all elements of declared members, qualified in the
  model's namespace, without attributes (spyne would read them as members), each
  member within its declared occurrences;
- a leaf is a plain ``Unicode`` (no length, pattern or enumeration), nillable, and its
  element holds text only (no child element, no comment);
- an ``AnyXml`` body is handed over as spyne does: its first child, or None.

Anything else (a comment, an unknown or unqualified element, a member twice, an
attribute) is read by spyne exactly as before, so that a bad request still gets
spyne's own fault, word for word; tests/wire/test_direct_read.py checks that both paths
answer the same bytes. Handlers see ``ctx.udc`` (the :class:`Exchange`) and nothing
else of spyne's context, which is all the simulator's handlers use.
"""
from __future__ import annotations

import math

from spyne import BODY_STYLE_BARE, ServiceBase
from spyne.model.complex import ComplexModelBase
from spyne.model.fault import Fault
from spyne.model.primitive import AnyXml, Unicode

from simulator.soap.spyne_glue import UnexpectedError

DECLINED = object()  # what a reader returns for a document spyne must read itself
_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


class DirectContext:
    """The part of spyne's MethodContext the simulator's handlers use."""

    __slots__ = ("udc",)

    def __init__(self, udc):
        self.udc = udc


class _Leaf:
    """A plain Unicode member: the element's text, '' when it has none."""

    def __init__(self, model):
        self.nillable = model.Attributes.nillable

    def read(self, element):
        if len(element):
            return DECLINED
        text = element.text
        if text is None:
            return "" if self.nillable else DECLINED
        return text


class _Complex:
    """A ComplexModel whose members are all leaves or supported ComplexModels."""

    def __init__(self, model, members: dict):
        self.model = model
        self.members = members  # {qualified tag: (name, reader, min, max)}
        self.required = [(name, low) for name, _, low, _ in members.values() if low > 0]
        # The attributes spyne's constructor gives a fresh instance (all None here).
        self.template = dict(vars(model()))

    def read(self, element):
        if _nil_or_typed(element):
            return DECLINED
        values: dict = {}
        counts: dict = {}
        for child in element:
            member = self.members.get(child.tag)  # a comment's tag is not a str
            # spyne reads a child's attributes as members of this model
            if member is None or child.attrib:
                return DECLINED
            name, reader, _, high = member
            value = reader.read(child)
            if value is DECLINED:
                return DECLINED
            count = counts[name] = counts.get(name, 0) + 1
            if count > high:
                return DECLINED
            if high > 1:
                values.setdefault(name, []).append(value)
            else:
                values[name] = value
        for name, low in self.required:
            if counts.get(name, 0) < low:
                return DECLINED
        instance = self.model.__new__(self.model)
        instance.__dict__.update(self.template)
        instance.__dict__.update(values)
        return instance


class _AnyXml:
    """An AnyXml body: its first child node, or None (spyne's ``xml_from_element``)."""

    def read(self, element):
        if _nil_or_typed(element):
            return DECLINED
        return element[0] if len(element) else None


def _nil_or_typed(element) -> bool:
    """Whether spyne's ``from_element`` would read ``xsi:nil`` or ``xsi:type`` here."""
    return element.get(_XSI_NIL) is not None or element.get(_XSI_TYPE) is not None


def reader_for(model):
    """A reader for ``model``, or None when the model is outside the supported subset."""
    origin = model.__orig__ or model
    if origin is AnyXml:
        return _AnyXml()
    if issubclass(origin, Unicode):
        attrs = model.Attributes
        plain = (origin is Unicode and attrs.min_len == 0 and attrs.max_len == math.inf
                 and attrs.pattern is None and not attrs.values
                 and not attrs.empty_is_none and attrs.default is None
                 and attrs.default_factory is None)
        return _Leaf(model) if plain else None
    if not issubclass(origin, ComplexModelBase) or origin._type_info_alt \
            or origin.Attributes._xml_tag_body_as is not None:
        return None
    namespace = origin.get_namespace()
    members = {}
    for name, member in origin.get_flat_type_info(origin).items():
        reader = reader_for(member)
        if reader is None or isinstance(reader, _AnyXml):
            return None
        attrs = member.Attributes
        members[f"{{{namespace}}}{name}"] = (name, reader, attrs.min_occurs, attrs.max_occurs)
    complex_reader = _Complex(origin, members)
    if any(value is not None for value in complex_reader.template.values()):
        return None  # defaults would be shared between requests
    return complex_reader


class DirectMethod:
    """One spyne method, called with a body read by :func:`reader_for`."""

    def __init__(self, descriptor, reader):
        self.function = descriptor.function
        self.reader = reader

    def read(self, body_element):
        """The method's argument, or DECLINED when spyne must read the body."""
        if body_element.getprevious() is not None:  # spyne would read Body[0]
            return DECLINED
        return self.reader.read(body_element)

    def call(self, exchange, argument):
        """Run the method as spyne would; non-fault errors keep their cause."""
        try:
            return self.function(DirectContext(exchange), argument)
        except Fault:
            raise
        except Exception as exc:  # noqa: BLE001 - rendered as the service's technical fault
            raise UnexpectedError(exc) from exc


def direct_methods(application) -> dict[str, DirectMethod]:
    """The application's methods that can be called directly, by spyne method key:
    bare body, a plain ``@rpc`` function with its context, no event handlers, and a
    body model :func:`reader_for` supports."""
    if application.event_manager.handlers:
        return {}
    methods = {}
    for key, descriptors in application.interface.service_method_map.items():
        descriptor = descriptors[0]
        service = descriptor.service_class
        if len(descriptors) != 1 or descriptor.body_style is not BODY_STYLE_BARE \
                or not descriptor.no_self or descriptor.no_ctx or service is None \
                or service.event_manager.handlers \
                or service.call_wrapper.__func__ is not ServiceBase.call_wrapper.__func__:
            continue
        reader = reader_for(descriptor.in_message)
        if reader is not None and not isinstance(reader, _Leaf):
            methods[key] = DirectMethod(descriptor, reader)
    return methods
