import { describe, expect, it } from 'vitest';
import { dependsOnContext } from '../../src/text/context.ts';

describe('dependsOnContext', () => {
  it('marks sentences that lean on the one before them', () => {
    for (const [lang, sentence] of [
      ['en', 'A timeout from a model provider is different: waiting usually fixes it.'],
      ['en', 'However, the second run leaves the same result.'],
      ['en', 'Second, the usage of health trackers lets doctors watch patients remotely.'],
      ['en', 'Finally, the pump is sized for the coldest week.'],
      ['de', 'Zweitens sinken die Kosten für den Betrieb.'],
      ['de', 'Dabei spielt die Größe eine Rolle.'],
      ['fr', 'Enfin, la pompe est dimensionnée pour la semaine la plus froide.'],
      ['es', 'Por último, la bomba se dimensiona para la semana más fría.'],
      ['es', 'Por ende, las ventajas se convierten en una desventaja.'],
      ['es', 'Por esta razón desde Android 6.0, Google desarrolló un sistema llamado Doze.'],
      ['en', 'For this reason, installers size the pump for the coldest week.'],
    ] as const) {
      expect(dependsOnContext(sentence, lang), sentence).toBe(true);
    }
  });

  it('lets sentences that stand alone stand', () => {
    for (const [lang, sentence] of [
      ['en', 'Heat pumps move heat instead of making it.'],
      ['en', 'Second-hand pumps are cheaper to buy but dearer to run.'],
      ['en', 'The Second World War changed how houses were heated.'],
      ['de', 'Wärmepumpen bewegen Wärme, statt sie zu erzeugen.'],
      ['fr', 'Les pompes à chaleur déplacent la chaleur au lieu de la produire.'],
      ['es', 'Segundo Gómez instaló la bomba en 2019.'],
    ] as const) {
      expect(dependsOnContext(sentence, lang), sentence).toBe(false);
    }
  });
});
