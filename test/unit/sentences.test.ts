import { describe, expect, it } from 'vitest';
import { splitSentences } from '../../src/text/sentences.ts';

describe('splitSentences', () => {
  it('ends a sentence before a dash that opens a sign-off, not inside a dashed aside', () => {
    expect(
      splitSentences(
        'Major hospital systems already use it in operations. — If you enjoyed this roundup, subscribe to our channel.',
      ),
    ).toEqual([
      'Major hospital systems already use it in operations.',
      '— If you enjoyed this roundup, subscribe to our channel.',
    ]);
    expect(splitSentences('Hospitals plan ahead – for instance – with fewer slots. Wait times fall.')).toEqual([
      'Hospitals plan ahead – for instance – with fewer slots.',
      'Wait times fall.',
    ]);
  });

  it('goes on after a quoted exclamation or question that the sentence carries on from in lower case', () => {
    expect(
      splitSentences('But when does that “a-ha!” moment occur? And what happens during it? New research investigates.'),
    ).toEqual([
      'But when does that “a-ha!” moment occur?',
      'And what happens during it?',
      'New research investigates.',
    ]);
    expect(splitSentences('He shouted "Stop!" and ran. Nobody followed.')).toEqual([
      'He shouted "Stop!" and ran.',
      'Nobody followed.',
    ]);
    expect(splitSentences('Sie rief „Hilfe!“ und lief weg. Dann ging sie.', 'de')).toEqual([
      'Sie rief „Hilfe!“ und lief weg.',
      'Dann ging sie.',
    ]);
    // A new sentence after a quotation still starts one.
    expect(splitSentences('He shouted "Stop!" Nobody followed.')).toEqual(['He shouted "Stop!"', 'Nobody followed.']);
  });

  it('splits a run-on and keeps abbreviations inside their sentence', () => {
    expect(splitSentences('The road was gone.The next day it rained. Dr. Smith came at 9 a.m. on Monday.')).toEqual([
      'The road was gone.',
      'The next day it rained.',
      'Dr. Smith came at 9 a.m. on Monday.',
    ]);
  });
});
