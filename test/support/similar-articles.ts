// Articles for the duplicate-guard and internal-link tests: an original, a lightly edited copy of it, and a
// distinct article on a neighbouring topic (home heating, but another subject and other sentences).

export const original = `# Heat pumps in cold climates

Heat pumps move heat rather than making it, which is why they use far less energy than resistance heaters. Modern \
cold-climate models keep working well below freezing, down to minus twenty-five degrees.

## Sizing

Installers size a heat pump from the heat loss of the house. A well insulated home needs a smaller unit, and a smaller \
unit cycles less and lasts longer. Oversized units short-cycle and waste energy.

## Running costs

Running costs depend on the price of electricity compared with gas. In most regions a heat pump with a seasonal \
efficiency above three costs less to run than a condensing boiler.

## Defrosting

In humid cold weather the outdoor coil collects frost. The unit reverses briefly to melt it, which costs a little \
energy but keeps the coil working.`;

/** The original with a few words changed and a sentence added: the same article. */
export const nearDuplicate = `# Heat pumps in cold climates

Heat pumps move heat rather than making it, which is why they use far less energy than resistance heaters. Modern \
cold-climate models keep working well below freezing, down to minus twenty-five degrees Celsius.

## Sizing

Installers size a heat pump from the heat loss of the house. A well insulated home needs a smaller unit, and a smaller \
unit cycles less and lasts longer. Oversized units short-cycle and waste a lot of energy.

## Running costs

Running costs depend on the price of electricity compared with gas. In most regions a heat pump with a seasonal \
efficiency above three costs less to run than a condensing boiler.

## Defrosting

In humid cold weather the outdoor coil collects frost. The unit reverses briefly to melt it, which costs a little \
energy but keeps the coil working all winter.`;

/** Home heating again, but wood stoves: shared vocabulary, different article. */
export const neighbour = `# Wood stoves for winter heating

A wood stove heats a room by burning logs in a closed firebox. Modern stoves burn cleanly and send most of their heat \
into the room instead of up the chimney.

## Choosing wood

Dry hardwood burns hotter and leaves less soot than fresh wood. Logs should season for at least a year, split and \
stacked under cover, until their moisture is below twenty percent.

## Chimney care

A chimney needs sweeping once a year to remove creosote. A blocked flue is a fire risk and can push smoke back into \
the house.

## Placement

Place the stove in the room where the family spends most of its evenings. A stove on an inside wall loses less heat to \
the outdoors and warms the rooms around it.`;

/** Another heat pump article (installation and grants): related to the original, but not a copy of it. */
export const related = `# Installing a heat pump at home

Installing a heat pump starts with a survey of the house and its heat loss. The installer checks insulation, radiators \
and the space for the outdoor unit.

## Grants

Many regions offer grants that cover part of the installation. Applications usually need a quote from a certified \
installer before the work starts.

## Radiators

Heat pumps run best at low flow temperatures, so some radiators may need to be larger. Underfloor heating works \
especially well with a heat pump.

## Noise

The outdoor unit makes a low hum while running. Placing it away from bedroom windows and on a solid base keeps the \
noise down.`;
