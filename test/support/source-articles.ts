// Realistic source material for writer tests and the writer benchmark: ten short articles on different topics,
// each with headings, figures, dates and names, so grounding and SEO checks have something real to bite on.

export type Article = { title: string; url: string | null; text: string };

/** The body of a short news article as a page carries it, for tests that serve one (extraction, lead images). */
export const kelpFarmParagraphs = `<p>Growers in Orkney have started hanging kelp lines between the foundations of tidal \
turbines, where the water is rich in nutrients and the currents keep the fronds clean.</p>
  <p>The first harvest, taken this spring, yielded twice as much per line as the sheltered bays the growers used \
before, and the turbines' operators report no effect on their output.</p>
  <p>Marine biologists want to know whether the farms also shelter young fish, and will count them through the \
summer.</p>`;

export const articles: Article[] = [
  {
    title: 'How Heat Pumps Work in Cold Climates',
    url: 'https://energy.example/heat-pumps-cold',
    text: `# How Heat Pumps Work in Cold Climates

Heat pumps move heat instead of making it, which is why they can deliver three units of heat for every unit of \
electricity they use. For years, installers warned that the technology struggled once the outdoor temperature fell \
below freezing.

That advice is now out of date. Modern cold-climate models use variable-speed compressors and improved refrigerants \
that keep extracting heat from outdoor air at minus twenty degrees Celsius.

## What changed in the hardware

The biggest change is the inverter-driven compressor. Instead of switching on and off at full power, it ramps up and \
down to match the heat the house needs, which saves energy and reduces wear. Vapour injection raises the capacity of a \
heat pump at low temperatures. Better defrost controls waste less energy melting ice from the outdoor coil.

## Installing one well

Sizing matters more than the brand of the heat pump. An installer should calculate the heat loss of each room rather \
than copying the size of the old boiler. An oversized heat pump cycles more often and runs less efficiently. Good \
insulation and larger radiators let the system run at a lower flow temperature, which is where heat pumps are most \
efficient.`,
  },
  {
    title: 'Sourdough Starters Explained',
    url: 'https://bread.example/sourdough-starters',
    text: `# Sourdough Starters Explained

A sourdough starter is a mixture of flour and water that hosts wild yeast and lactic acid bacteria. The yeast makes \
the dough rise, while the bacteria produce the acids that give sourdough its tangy flavour.

## Feeding a starter

Feed the starter twice a day with equal weights of flour and water to keep the yeast active. A healthy starter doubles \
in size within four to eight hours of a feed at room temperature. Whole rye flour speeds up fermentation because it \
carries more wild yeast and nutrients than white flour.

## Baking with it

The dough needs a long, slow fermentation, often twelve hours or more, to develop flavour. Bakers in San Francisco \
made the style famous during the Gold Rush of 1849, and the local strain of bacteria was later named Lactobacillus \
sanfranciscensis. A cold retard in the fridge overnight makes the dough easier to shape and deepens its sourness.`,
  },
  {
    title: 'Why Urban Trees Cool Cities',
    url: 'https://city.example/urban-trees',
    text: `# Why Urban Trees Cool Cities

Streets lined with mature trees can be several degrees cooler than bare streets on a summer afternoon. Trees cool the \
air in two ways: their canopy shades the pavement, and their leaves release water vapour that absorbs heat as it \
evaporates.

## The urban heat island

Cities are warmer than the surrounding countryside because asphalt, brick and concrete store heat during the day and \
release it at night. A study in Melbourne found that increasing canopy cover by ten percent reduced daytime surface \
temperatures noticeably in the densest neighbourhoods. The effect matters most during heatwaves, when hot nights stop \
people from recovering.

## Planting for the future

City foresters now choose species that tolerate drought and heat, because the climate of 2050 will differ from \
today's. Young trees need regular watering for their first three summers to establish deep roots. Planting in \
continuous soil trenches rather than small pits lets roots spread and helps trees live longer.`,
  },
  {
    title: 'Getting Started with Home Composting',
    url: null,
    text: `# Getting Started with Home Composting

Composting turns kitchen scraps and garden waste into a dark, crumbly material that improves soil structure. Roughly a \
third of what households throw away could be composted instead of sent to landfill.

## Greens and browns

A compost heap needs a balance of nitrogen-rich greens, such as vegetable peelings and grass clippings, and \
carbon-rich browns, such as dry leaves, cardboard and straw. Too many greens make the heap wet and smelly, while too \
many browns slow it down. Turning the heap every two weeks adds oxygen and speeds up decomposition.

## What to leave out

Meat, dairy and cooked food attract rats and should stay out of an open heap. Diseased plants and perennial weeds with \
roots can survive a cool heap and spread in the garden later. A well-managed heap is ready in six to twelve months, \
when the material smells earthy and the original scraps are no longer recognisable.`,
  },
  {
    title: 'The Basics of Index Funds',
    url: 'https://money.example/index-funds',
    text: `# The Basics of Index Funds

An index fund holds every security in a market index, such as the S&P 500, instead of trying to pick winners. Because \
it simply follows the index, it trades rarely and charges low fees.

## Why costs matter

John Bogle launched the first index fund for individual investors at Vanguard in 1976. Critics called it un-American \
at the time, but low-cost investing has since become mainstream. A difference of one percentage point in annual fees \
compounds into a large gap over thirty years of saving.

## Limits of the approach

An index fund cannot beat the market; it aims to match it, minus its small costs. Investors still face the full fall \
of the market in a downturn, so the time horizon matters. Spreading money across several indexes, such as domestic \
shares, international shares and bonds, reduces the risk of any single market.`,
  },
  {
    title: 'Sleep and Memory: What the Research Says',
    url: 'https://health.example/sleep-memory',
    text: `# Sleep and Memory: What the Research Says

Sleep is not a pause for the brain. During deep sleep, the hippocampus replays the day's experiences and helps move \
them into long-term storage in the cortex.

## Stages of sleep

A night of sleep cycles through light sleep, deep slow-wave sleep and rapid eye movement sleep roughly every ninety \
minutes. Slow-wave sleep seems most important for remembering facts, while REM sleep supports emotional memory and \
creative connections. Most adults need between seven and nine hours of sleep a night.

## Practical advice

Studying shortly before sleep, and then sleeping well, helps material stick better than an all-night cram session. \
Caffeine late in the afternoon can cut the amount of deep sleep even when people fall asleep normally. A regular \
bedtime and a dark, cool bedroom make deep sleep more likely.`,
  },
  {
    title: 'A Short History of the Bicycle',
    url: 'https://history.example/bicycle',
    text: `# A Short History of the Bicycle

The first two-wheeled running machine was built by Karl Drais in Mannheim in 1817. Riders pushed it along with their \
feet, and it had no pedals at all.

## From penny-farthing to safety bicycle

Pedals attached to the front wheel arrived in the 1860s, and the front wheel grew huge to go faster, producing the \
penny-farthing. It was fast but dangerous, because a rider sat high above the road. The safety bicycle of the 1880s, \
with a chain drive to the rear wheel and two wheels of equal size, made cycling practical for everyone.

## A tool of independence

Pneumatic tyres, patented by John Boyd Dunlop in 1888, made riding far more comfortable. Bicycles gave many women a \
new freedom of movement in the 1890s, and dress reformers argued for clothing suited to riding. Today the bicycle \
remains one of the most efficient machines for turning human energy into travel.`,
  },
  {
    title: 'Keeping Backyard Chickens',
    url: 'https://garden.example/backyard-chickens',
    text: `# Keeping Backyard Chickens

A small flock of chickens can supply fresh eggs, eat garden pests and turn kitchen scraps into fertiliser. Before \
buying birds, check local rules, because some towns limit the number of hens or ban roosters.

## Housing and space

Each hen needs a dry coop with a perch, a nesting box shared between three or four birds, and secure protection from \
foxes at night. A run with at least one square metre of space per bird keeps them from getting stressed. Deep litter \
of wood shavings absorbs droppings and can be composted when it is changed.

## Daily care

Hens need fresh water every day and a balanced layer feed, with grit to help them digest. Most hybrid hens lay around \
five eggs a week in their first years, and fewer as they age or in the darker months. Collecting eggs daily keeps them \
clean and discourages hens from going broody.`,
  },
  {
    title: 'How Noise-Cancelling Headphones Work',
    url: 'https://tech.example/noise-cancelling',
    text: `# How Noise-Cancelling Headphones Work

Active noise cancellation uses small microphones to listen to the sound around the listener. A chip then produces a \
sound wave that is the mirror image of the noise, and the two waves cancel each other out.

## Where it works best

The technique is most effective against steady, low-frequency sounds such as the drone of an aircraft engine or an air \
conditioner. Sudden or high-pitched sounds, like voices or a dog barking, change too quickly to cancel fully. The ear \
cushions themselves block much of the higher-frequency noise passively.

## Trade-offs

Noise cancellation draws power, so it shortens battery life. Some listeners feel a sense of pressure in their ears \
when it is switched on. Transparency modes use the same microphones to let ambient sound back in, so people can hear \
announcements or traffic without removing the headphones.`,
  },
  {
    title: 'Rainwater Harvesting at Home',
    url: 'https://water.example/rainwater',
    text: `# Rainwater Harvesting at Home

Collecting rain from a roof is one of the simplest ways to cut mains water use for the garden. A roof of one hundred \
square metres can collect about sixty thousand litres in a year where annual rainfall is six hundred millimetres.

## Choosing a system

The simplest setup is a water butt connected to a downpipe with a diverter. Larger underground tanks with a pump can \
supply toilets and washing machines as well as the garden. A first-flush diverter sends the dirtiest water from the \
start of a shower away from the tank.

## Keeping the water clean

Tanks should be sealed against light and insects to stop algae and mosquitoes. Gutters need clearing of leaves at \
least once a year, especially in autumn. Untreated rainwater is fine for plants and toilets but should not be used for \
drinking.`,
  },
];

/** Twenty different source sets: each article alone, then ten pairs and triples of them. */
export function sourceSets(): Article[][] {
  const sets: Article[][] = articles.map((a) => [a]);
  for (let i = 0; i < 10; i++) {
    const size = i % 2 === 0 ? 2 : 3;
    sets.push(Array.from({ length: size }, (_, k) => articles[(i + k * 3) % articles.length]!));
  }
  return sets;
}
