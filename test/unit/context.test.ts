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
      // A quotation whose speaker is only a pronoun, or no one: the sentence before says who.
      ['en', '“That’s where the new compressor is really going to shine,” she says.'],
      ['en', '"Taking a break every hour keeps the installers safe," he told the council.'],
      ['de', '„Nur gemeinsam machen wir das Werk zukunftssicher“, meinte er.'],
      ['fr', '« Le chantier a pris un an de retard », a-t-il reconnu.'],
      ['es', '“No hay seguridad cuando no nos anticipamos a la acción criminal”, recalcó.'],
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
      // A quotation that names its speaker stands.
      ['en', '“That’s where the new compressor is really going to shine,” says Maria Lopez, the project lead.'],
      ['de', '„Nur gemeinsam machen wir das Werk zukunftssicher“, meinte der Betriebsrat Jan Kowalski.'],
      ['es', '“No hay seguridad sin prevención”, recalcó el candidato Federico Gutiérrez.'],
    ] as const) {
      expect(dependsOnContext(sentence, lang), sentence).toBe(false);
    }
  });
});
