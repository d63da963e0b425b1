// Decoding a fetched body to text. The charset comes from, in order: a byte order mark, the
// Content-Type header, then the document itself (<meta charset>, <meta http-equiv> or the XML
// declaration), else UTF-8. TextDecoder knows the WHATWG labels (ISO-8859-1 is decoded as
// windows-1252, as browsers do).

const boms: Array<[number[], string]> = [
  [[0xef, 0xbb, 0xbf], 'utf-8'],
  [[0xfe, 0xff], 'utf-16be'],
  [[0xff, 0xfe], 'utf-16le'],
];

export function decodeBody(bytes: Uint8Array, contentType: string): { text: string; charset: string } {
  for (const [mark, charset] of boms) {
    if (mark.every((b, i) => bytes[i] === b))
      return { text: decodeWith(charset, bytes.subarray(mark.length))!, charset };
  }
  const declared = headerCharset(contentType) ?? sniffDocumentCharset(bytes);
  if (declared) {
    const text = decodeWith(declared, bytes);
    if (text !== null) return { text, charset: declared.toLowerCase() };
  }
  return { text: new TextDecoder('utf-8').decode(bytes), charset: 'utf-8' };
}

export function headerCharset(contentType: string): string | null {
  return /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType)?.[1] ?? null;
}

/** Looks in the first 1024 bytes, as the HTML prescan does, for a declared encoding. */
function sniffDocumentCharset(bytes: Uint8Array): string | null {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 1024));
  const xml = /^\s*<\?xml[^>]*\sencoding\s*=\s*["']([^"']+)["']/i.exec(head);
  if (xml) return xml[1]!;
  const meta = /<meta[^>]+charset\s*=\s*["']?\s*([^"'\s/>;]+)/i.exec(head);
  return meta?.[1] ?? null;
}

function decodeWith(label: string, bytes: Uint8Array): string | null {
  try {
    return new TextDecoder(label.trim()).decode(bytes);
  } catch {
    // An unknown label makes TextDecoder throw a RangeError.
    return null;
  }
}
