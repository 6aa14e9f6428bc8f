"""Shape-driven XML bodies shared by the query (IAM, STS) and rest-xml (S3) protocols.

Both protocols follow the same conventions, the ones botocore's XML parsers and serializers read
and write: element names from `locationName` or the member name, lists wrapped in `<member>` (or
the member's `locationName`) unless `flattened`, maps as `<entry><key/><value/></entry>`,
`xmlAttribute` members as attributes and `xmlNamespace` as `xmlns` declarations.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from xml.etree import ElementTree

from botocore.model import Shape

from .scalars import read_text, write_text
from .timestamps import ISO8601

StringHook = Callable[[Shape, str], str]

_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_FORBIDDEN_MARKUP = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\r": "&#13;",
        "\n": "&#10;",
        "\t": "&#9;",
    }
)


class MalformedXml(ValueError):
    """A request body that is not well-formed XML (or uses DTDs, which AWS never accepts)."""


def is_located(member: Shape) -> bool:
    """True for members carried outside the body (headers, URI, query string, status code)."""
    return "location" in member.serialization


def element_name(member: Shape, member_name: str) -> str:
    """The element name a structure member uses.

    A flattened list whose items carry a `locationName` repeats that name directly in the parent
    (S3's `<Contents>`, `<Object>`, `<Part>`), so that name wins over the member's own.
    """
    if member.type_name == "list" and member.serialization.get("flattened"):
        item_name = member.member.serialization.get("name")
        if item_name:
            return str(item_name)
    return str(member.serialization.get("name", member_name))


class XmlWriter:
    """Writes values of a shape as XML text, following the model's serialization traits."""

    def __init__(
        self,
        *,
        timestamp_format: str = ISO8601,
        always_millis: bool = False,
        string_hook: StringHook | None = None,
    ) -> None:
        self._timestamp_format = timestamp_format
        self._always_millis = always_millis
        self._string_hook = string_hook

    def document(
        self,
        root: str,
        shape: Shape,
        value: Mapping[str, Any],
        *,
        namespace: str | None = None,
        declaration: bool = False,
    ) -> bytes:
        """A whole document whose root element holds the members of structure `shape`."""
        out: list[str] = [_XML_DECLARATION] if declaration else []
        self.structure(out, root, shape, value, namespace=namespace)
        return "".join(out).encode("utf-8")

    def structure(
        self,
        out: list[str],
        name: str,
        shape: Shape,
        value: Mapping[str, Any],
        *,
        namespace: str | None = None,
    ) -> None:
        attributes: list[tuple[str, str]] = [("xmlns", namespace)] if namespace else []
        attributes.extend(
            pair for pair in _namespace_attributes(shape) if not (namespace and pair[0] == "xmlns")
        )
        children: list[str] = []
        for member_name, member in shape.members.items():
            item = value.get(member_name)
            if item is None or is_located(member):
                continue
            if member.serialization.get("xmlAttribute"):
                attributes.append((str(member.serialization["name"]), self._scalar(member, item)))
                continue
            self.value(children, element_name(member, member_name), member, item)
        out.append(_open_tag(name, attributes))
        out.extend(children)
        out.append(f"</{name}>")

    def value(self, out: list[str], name: str, shape: Shape, value: Any) -> None:
        type_name = shape.type_name
        if type_name == "structure":
            self.structure(out, name, shape, value)
        elif type_name == "list":
            self._list(out, name, shape, value)
        elif type_name == "map":
            self._map(out, name, shape, value)
        else:
            out.append(_open_tag(name, _namespace_attributes(shape)))
            out.append(self._scalar(shape, value).translate(_TEXT_ESCAPES))
            out.append(f"</{name}>")

    def _list(self, out: list[str], name: str, shape: Shape, items: list[Any]) -> None:
        item_shape = shape.member
        if shape.serialization.get("flattened"):
            for item in items:
                if item is not None:
                    self.value(out, name, item_shape, item)
            return
        item_name = str(item_shape.serialization.get("name", "member"))
        out.append(_open_tag(name, _namespace_attributes(shape)))
        for item in items:
            if item is not None:
                self.value(out, item_name, item_shape, item)
        out.append(f"</{name}>")

    def _map(self, out: list[str], name: str, shape: Shape, entries: Mapping[Any, Any]) -> None:
        key_name = str(shape.key.serialization.get("name", "key"))
        value_name = str(shape.value.serialization.get("name", "value"))
        flattened = bool(shape.serialization.get("flattened"))
        if not flattened:
            out.append(_open_tag(name, _namespace_attributes(shape)))
        for key, item in entries.items():
            if item is None:
                continue
            out.append(f"<{name}>" if flattened else "<entry>")
            self.value(out, key_name, shape.key, key)
            self.value(out, value_name, shape.value, item)
            out.append(f"</{name}>" if flattened else "</entry>")
        if not flattened:
            out.append(f"</{name}>")

    def _scalar(self, shape: Shape, value: Any) -> str:
        text = write_text(
            shape,
            value,
            timestamp_format=self._timestamp_format,
            always_millis=self._always_millis,
        )
        if self._string_hook is not None and shape.type_name == "string":
            text = self._string_hook(shape, text)
        return text


def _namespace_attributes(shape: Shape) -> list[tuple[str, str]]:
    namespace = shape.serialization.get("xmlNamespace")
    if not namespace:
        return []
    if isinstance(namespace, str):
        return [("xmlns", namespace)]
    prefix = namespace.get("prefix")
    return [(f"xmlns:{prefix}" if prefix else "xmlns", str(namespace["uri"]))]


def _open_tag(name: str, attributes: list[tuple[str, str]]) -> str:
    if not attributes:
        return f"<{name}>"
    rendered = " ".join(f'{key}="{value.translate(_ATTR_ESCAPES)}"' for key, value in attributes)
    return f"<{name} {rendered}>"


# --- reading -------------------------------------------------------------------------------------


def parse_document(body: bytes) -> ElementTree.Element:
    """Parse a request body; raises MalformedXml for anything that is not plain, well-formed XML."""
    if _FORBIDDEN_MARKUP.search(body):
        raise MalformedXml("DTDs and entity declarations are not accepted")
    try:
        parser = ElementTree.XMLParser(encoding="utf-8")
        parser.feed(body)
        return parser.close()
    except ElementTree.ParseError as exc:
        raise MalformedXml(str(exc)) from exc


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class XmlReader:
    """Reads XML elements into plain values of a shape; unknown elements are ignored."""

    def __init__(self, *, timestamp_format: str = ISO8601) -> None:
        self._timestamp_format = timestamp_format

    def structure(self, shape: Shape, element: ElementTree.Element) -> dict[str, Any]:
        groups: dict[str, list[ElementTree.Element]] = {}
        for child in element:
            groups.setdefault(local_name(child.tag), []).append(child)
        parsed: dict[str, Any] = {}
        for member_name, member in shape.members.items():
            if is_located(member):
                continue
            if member.serialization.get("xmlAttribute"):
                found = _attribute(element, str(member.serialization["name"]))
                if found is not None:
                    parsed[member_name] = self._scalar(member, found, member_name)
                continue
            nodes = groups.get(element_name(member, member_name))
            if nodes:
                parsed[member_name] = self._value(member, nodes, member_name)
        return parsed

    def _value(self, shape: Shape, nodes: list[ElementTree.Element], name: str) -> Any:
        type_name = shape.type_name
        if type_name == "list":
            if shape.serialization.get("flattened"):
                items = nodes
            else:
                item_name = str(shape.member.serialization.get("name", "member"))
                items = [child for child in nodes[0] if local_name(child.tag) == item_name]
            return [self._value(shape.member, [item], name) for item in items]
        node = nodes[0]
        if type_name == "structure":
            return self.structure(shape, node)
        if type_name == "map":
            return self._map(shape, nodes)
        return self._scalar(shape, node.text or "", name)

    def _map(self, shape: Shape, nodes: list[ElementTree.Element]) -> dict[Any, Any]:
        key_name = str(shape.key.serialization.get("name", "key"))
        value_name = str(shape.value.serialization.get("name", "value"))
        entries = nodes if shape.serialization.get("flattened") else list(nodes[0])
        parsed: dict[Any, Any] = {}
        for entry in entries:
            key_node = value_node = None
            for part in entry:
                tag = local_name(part.tag)
                if tag == key_name:
                    key_node = part
                elif tag == value_name:
                    value_node = part
            if key_node is None:
                continue
            key = self._scalar(shape.key, key_node.text or "", key_name)
            parsed[key] = (
                None if value_node is None else self._value(shape.value, [value_node], value_name)
            )
        return parsed

    def _scalar(self, shape: Shape, text: str, name: str) -> Any:
        return read_text(shape, text, timestamp_format=self._timestamp_format, name=name)


def _attribute(element: ElementTree.Element, qualified: str) -> str | None:
    # ElementTree expands `xsi:type` to `{uri}type`; the model names it by prefix, so compare
    # local names.
    wanted = qualified.rsplit(":", 1)[-1]
    for key, value in element.attrib.items():
        if local_name(key) == wanted:
            return value
    return None
