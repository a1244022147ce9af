/** A minimal element tree for the parts of a COUNTER 4 response that are kept (small subtrees only). */

export interface XNode {
  /** Local name (namespace prefix removed). */
  name: string;
  /** Attributes by local name. */
  attrs: Record<string, string>;
  children: XNode[];
  /** Character data directly inside this element. */
  text: string;
}

export function localName(qualified: string): string {
  const colon = qualified.indexOf(':');
  return colon < 0 ? qualified : qualified.slice(colon + 1);
}

export function newNode(qualifiedName: string, attributes: Record<string, string>): XNode {
  const attrs: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'xmlns' || key.startsWith('xmlns:')) continue;
    attrs[localName(key)] = value;
  }
  return { name: localName(qualifiedName), attrs, children: [], text: '' };
}

export function firstChild(node: XNode, name: string): XNode | undefined {
  return node.children.find((c) => c.name === name);
}

export function childrenNamed(node: XNode, name: string): XNode[] {
  return node.children.filter((c) => c.name === name);
}

/** The element's own text (JAXB keeps xs:string content as is). */
export function nodeText(node: XNode): string {
  return node.text;
}

export function childText(node: XNode, name: string): string | undefined {
  const child = firstChild(node, name);
  return child ? child.text : undefined;
}

/** All character data of an element and its descendants, in document order. */
export function deepText(node: XNode): string {
  return node.text + node.children.map(deepText).join('');
}
