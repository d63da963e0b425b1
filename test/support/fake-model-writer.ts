import { chatCompletion, type FakeReply, type RecordedRequest } from './fake-openai.ts';

// A scripted "model" for the fake OpenAI server: it answers each generation step (outline, draft, expansion,
// metadata) the way a well-behaved model would, writing only sentences copied from the sources in the prompt.
// `extraSentence` lets a test slip in a fabricated claim.

export type StepName = 'outline' | 'draft' | 'expansion' | 'metadata';

export function stepOf(req: RecordedRequest): StepName {
  const schemaName = req.body?.response_format?.json_schema?.name;
  if (schemaName === 'outline' || schemaName === 'metadata') return schemaName;
  const user = String(req.body?.messages?.at(-1)?.content ?? '');
  return user.includes('The draft has') ? 'expansion' : 'draft';
}

/** Sentences of source [n] as the prompt shows it. */
function sourceSentences(prompt: string): Map<number, string[]> {
  const out = new Map<number, string[]>();
  const block = prompt.split(/\n\n(?:Outline \(JSON\)|Plan a blog post|Draft:)/)[0]!.replace(/^Sources:\n\n/, '');
  for (const part of block.split('\n\n---\n\n')) {
    const m = /^\[(\d+)\] [^\n]*\n([\s\S]*)$/.exec(part);
    if (!m) continue;
    // `[…]` marks text the prompt left out to fit the model's context.
    const text = m[2]!
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#') && l.trim() !== '[…]')
      .join(' ');
    out.set(
      Number(m[1]),
      text.split(/(?<=[.!?])\s+/).filter((s) => s.split(' ').length >= 6),
    );
  }
  return out;
}

export function modelWriter(
  opts: {
    extraSentence?: string;
    metadata?: Record<string, unknown>;
    usage?: { promptTokens: number; completionTokens: number };
  } = {},
) {
  return (req: RecordedRequest): FakeReply => {
    const step = stepOf(req);
    const user = String(req.body?.messages?.at(-1)?.content ?? '');
    const usage = opts.usage ?? {};
    if (step === 'outline') {
      return chatCompletion(
        {
          title: 'What the sources say',
          sections: [
            { heading: 'The main points', points: ['a'], sources: [1] },
            { heading: 'In practice', points: ['b'], sources: [1] },
          ],
          keyTakeaways: ['c'],
        },
        usage,
      );
    }
    if (step === 'metadata') {
      return chatCompletion(
        {
          title: 'What the Sources Say About It',
          metaTitle: 'What the Sources Say About It: A Practical Guide',
          metaDescription:
            'A grounded summary of the sources: what they explain, the figures they ' +
            'give and the practical advice they offer, with every claim cited to its ' +
            'source.',
          slug: 'what-the-sources-say',
          tags: ['guide', 'sources'],
          category: 'Guides',
          heroImagePrompt: 'A calm illustration of notes and books on a desk',
          heroImageAlt: 'Notes and books on a desk',
          ...opts.metadata,
        },
        usage,
      );
    }
    // A model that follows the brief: no more words than "Between X and Y words" allows.
    const maxWords = Number(/Between \d+ and (\d+) words/.exec(user)?.[1] ?? Infinity);
    let words = 0;
    const sentences = new Map(
      [...sourceSentences(user)].map(([n, list]) => [
        n,
        list.filter((s) => {
          words += s.split(' ').length;
          return words <= maxWords;
        }),
      ]),
    );
    const paragraphs: string[] = [];
    for (const [n, list] of sentences) {
      if (list.length === 0) continue;
      const half = Math.ceil(list.length / 2);
      paragraphs.push(
        `${list.slice(0, half).join(' ')} [${n}]`,
        `## More from source ${n}`,
        `${list.slice(half).join(' ')} [${n}]`,
      );
    }
    if (opts.extraSentence) paragraphs.splice(1, 0, `## A closer look`, `${opts.extraSentence} [1]`);
    return chatCompletion(paragraphs.join('\n\n'), usage);
  };
}
