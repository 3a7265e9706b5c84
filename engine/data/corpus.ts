/**
 * Bundled character-level corpus (about 20 KB of English). Provenance and licence: docs/tasks.md,
 * section "Bundled corpus". In short: works whose copyright expired long ago (Shakespeare's
 * sonnets, 1609; Lincoln's Gettysburg Address, 1863; the preamble of the US Constitution, 1787),
 * transcribed here, and fables retold in new words for this project, dedicated to the public domain (CC0).
 */
export const CORPUS = `SONNETS, BY WILLIAM SHAKESPEARE (1609)

XVIII

Shall I compare thee to a summer's day?
Thou art more lovely and more temperate:
Rough winds do shake the darling buds of May,
And summer's lease hath all too short a date:
Sometime too hot the eye of heaven shines,
And often is his gold complexion dimm'd;
And every fair from fair sometime declines,
By chance or nature's changing course untrimm'd;
But thy eternal summer shall not fade
Nor lose possession of that fair thou owest;
Nor shall Death brag thou wander'st in his shade,
When in eternal lines to time thou growest:
So long as men can breathe or eyes can see,
So long lives this and this gives life to thee.

XXIX

When, in disgrace with fortune and men's eyes,
I all alone beweep my outcast state,
And trouble deaf heaven with my bootless cries,
And look upon myself and curse my fate,
Wishing me like to one more rich in hope,
Featured like him, like him with friends possess'd,
Desiring this man's art and that man's scope,
With what I most enjoy contented least;
Yet in these thoughts myself almost despising,
Haply I think on thee, and then my state,
Like to the lark at break of day arising
From sullen earth, sings hymns at heaven's gate;
For thy sweet love remember'd such wealth brings
That then I scorn to change my state with kings.

XXX

When to the sessions of sweet silent thought
I summon up remembrance of things past,
I sigh the lack of many a thing I sought,
And with old woes new wail my dear time's waste:
Then can I drown an eye, unused to flow,
For precious friends hid in death's dateless night,
And weep afresh love's long since cancell'd woe,
And moan the expense of many a vanish'd sight:
Then can I grieve at grievances foregone,
And heavily from woe to woe tell o'er
The sad account of fore-bemoaned moan,
Which I new pay as if not paid before.
But if the while I think on thee, dear friend,
All losses are restored and sorrows end.

LV

Not marble, nor the gilded monuments
Of princes, shall outlive this powerful rhyme;
But you shall shine more bright in these contents
Than unswept stone besmear'd with sluttish time.
When wasteful war shall statues overturn,
And broils root out the work of masonry,
Nor Mars his sword nor war's quick fire shall burn
The living record of your memory.
'Gainst death and all-oblivious enmity
Shall you pace forth; your praise shall still find room
Even in the eyes of all posterity
That wear this world out to the ending doom.
So, till the judgment that yourself arise,
You live in this, and dwell in lovers' eyes.

LXXIII

That time of year thou mayst in me behold
When yellow leaves, or none, or few, do hang
Upon those boughs which shake against the cold,
Bare ruin'd choirs, where late the sweet birds sang.
In me thou seest the twilight of such day
As after sunset fadeth in the west,
Which by and by black night doth take away,
Death's second self, that seals up all in rest.
In me thou see'st the glowing of such fire
That on the ashes of his youth doth lie,
As the death-bed whereon it must expire,
Consumed with that which it was nourish'd by.
This thou perceivest, which makes thy love more strong,
To love that well which thou must leave ere long.

CXVI

Let me not to the marriage of true minds
Admit impediments. Love is not love
Which alters when it alteration finds,
Or bends with the remover to remove:
O no! it is an ever-fixed mark
That looks on tempests and is never shaken;
It is the star to every wandering bark,
Whose worth's unknown, although his height be taken.
Love's not Time's fool, though rosy lips and cheeks
Within his bending sickle's compass come:
Love alters not with his brief hours and weeks,
But bears it out even to the edge of doom.
If this be error and upon me proved,
I never writ, nor no man ever loved.

CXXX

My mistress' eyes are nothing like the sun;
Coral is far more red than her lips' red;
If snow be white, why then her breasts are dun;
If hairs be wires, black wires grow on her head.
I have seen roses damask'd, red and white,
But no such roses see I in her cheeks;
And in some perfumes is there more delight
Than in the breath that from my mistress reeks.
I love to hear her speak, yet well I know
That music hath a far more pleasing sound;
I grant I never saw a goddess go;
My mistress, when she walks, treads on the ground:
And yet, by heaven, I think my love as rare
As any she belied with false compare.

LX

Like as the waves make towards the pebbled shore,
So do our minutes hasten to their end;
Each changing place with that which goes before,
In sequent toil all forwards do contend.
Nativity, once in the main of light,
Crawls to maturity, wherewith being crown'd,
Crooked eclipses 'gainst his glory fight,
And Time that gave doth now his gift confound.
Time doth transfix the flourish set on youth
And delves the parallels in beauty's brow,
Feeds on the rarities of nature's truth,
And nothing stands but for his scythe to mow:
And yet to times in hope my verse shall stand,
Praising thy worth, despite his cruel hand.

LXV

Since brass, nor stone, nor earth, nor boundless sea,
But sad mortality o'er-sways their power,
How with this rage shall beauty hold a plea,
Whose action is no stronger than a flower?
O, how shall summer's honey breath hold out
Against the wreckful siege of battering days,
When rocks impregnable are not so stout,
Nor gates of steel so strong, but Time decays?
O fearful meditation! where, alack,
Shall Time's best jewel from Time's chest lie hid?
Or what strong hand can hold his swift foot back?
Or who his spoil of beauty can forbid?
O, none, unless this miracle have might,
That in black ink my love may still shine bright.

CIV

To me, fair friend, you never can be old,
For as you were when first your eye I eyed,
Such seems your beauty still. Three winters cold
Have from the forests shook three summers' pride,
Three beauteous springs to yellow autumn turn'd
In process of the seasons have I seen,
Three April perfumes in three hot Junes burn'd,
Since first I saw you fresh, which yet are green.
Ah! yet doth beauty, like a dial-hand,
Steal from his figure and no pace perceived;
So your sweet hue, which methinks still doth stand,
Hath motion and mine eye may be deceived:
For fear of which, hear this, thou age unbred;
Ere you were born was beauty's summer dead.

ADDRESS DELIVERED AT THE DEDICATION OF THE CEMETERY AT GETTYSBURG, BY ABRAHAM LINCOLN (1863)

Four score and seven years ago our fathers brought forth on this continent, a new nation, conceived in Liberty, and dedicated to the proposition that all men are created equal.

Now we are engaged in a great civil war, testing whether that nation, or any nation so conceived and so dedicated, can long endure. We are met on a great battle-field of that war. We have come to dedicate a portion of that field, as a final resting place for those who here gave their lives that that nation might live. It is altogether fitting and proper that we should do this.

But, in a larger sense, we can not dedicate, we can not consecrate, we can not hallow this ground. The brave men, living and dead, who struggled here, have consecrated it, far above our poor power to add or detract. The world will little note, nor long remember what we say here, but it can never forget what they did here. It is for us the living, rather, to be dedicated here to the unfinished work which they who fought here have thus far so nobly advanced. It is rather for us to be here dedicated to the great task remaining before us, that from these honored dead we take increased devotion to that cause for which they gave the last full measure of devotion, that we here highly resolve that these dead shall not have died in vain, that this nation, under God, shall have a new birth of freedom, and that government of the people, by the people, for the people, shall not perish from the earth.

PREAMBLE TO THE CONSTITUTION OF THE UNITED STATES (1787)

We the People of the United States, in Order to form a more perfect Union, establish Justice, insure domestic Tranquility, provide for the common defence, promote the general Welfare, and secure the Blessings of Liberty to ourselves and our Posterity, do ordain and establish this Constitution for the United States of America.

FABLES, RETOLD FOR THIS PROJECT

THE FOX AND THE GRAPES

A hungry fox came into a vineyard late in the summer, when the grapes hung heavy and dark on the highest trellis. She jumped once and missed. She jumped again and caught only air. She walked back, ran at the vine, and leapt with all her strength, and her teeth closed a hand's width below the lowest bunch. At last she sat down, licked her paw, and said to no one in particular, "They were sour anyway. Anyone can see they are not ripe." Then she trotted off with her nose in the air. It is easy to despise what we cannot reach.

THE TORTOISE AND THE HARE

A hare laughed at a tortoise for the slowness of his feet, and the tortoise, who was tired of being laughed at, offered to race him to the old oak at the end of the meadow. The hare agreed at once. When the fox called the start, the hare sprang away and was soon out of sight, while the tortoise set off at his steady pace, one foot and then the next. Halfway to the oak the hare looked back, saw nothing behind him but grass, and lay down in the shade to rest. The sun was warm and the bees were humming, and he slept. The tortoise passed him without a word. When the hare woke, the shadows were long, and he ran as fast as he had ever run, but the tortoise was already resting beneath the oak. Slow and steady wins the race.

THE ANT AND THE GRASSHOPPER

All through the summer an ant carried grain to her nest, one seed at a time, from first light until dusk. A grasshopper sat on a stalk of wheat and sang, and every time the ant went past he called out to her to stop working and enjoy the sunshine. "There is food everywhere," he said. "Why carry it away?" The ant said only that winter would come, and went on working. Winter came. The fields were white and bare, and the grasshopper, cold and hungry, knocked at the ant's door to beg for a little grain. "What were you doing all summer?" the ant asked. "I was singing," said the grasshopper. "Then you may dance all winter," said the ant, but she gave him a little grain all the same, because she was kinder than the story usually allows. There is a time for work and a time for play.

THE NORTH WIND AND THE SUN

The North Wind and the Sun argued about which of them was the stronger. As they argued, a traveller came along the road wrapped in a warm cloak. "Let us settle it," said the Sun. "Whichever of us can make that man take off his cloak is the stronger." The North Wind went first. He blew a cold blast, and the man pulled his cloak tighter. He blew harder, and the man wrapped the cloak twice around himself and bent his head against the gale. At last the Wind gave up. Then the Sun came out from behind a cloud and shone gently on the road. The traveller loosened his cloak. The Sun shone warmer, and the man, growing hot, took off his cloak and sat down in the shade of a tree. Persuasion is better than force.

THE LION AND THE MOUSE

A lion was asleep in the long grass when a mouse, running home, ran straight across his nose. The lion woke with a roar and caught the mouse under his paw. "Let me go," squeaked the mouse, "and one day I will repay you." The lion laughed so hard at the thought of a mouse helping a lion that he lifted his paw and let her go. Some days later the lion was caught in a hunter's net. The more he struggled, the tighter the ropes became, and his roars shook the forest. The mouse heard him, ran to the net, and gnawed through one rope after another until the lion could shake himself free. "You laughed at me," said the mouse, "but now you know that even a mouse can help a lion." No act of kindness, however small, is ever wasted.

THE CROW AND THE PITCHER

A crow, half dead with thirst, found a pitcher that had once been full of water. But when she put her beak into its mouth, she found that only a little water was left at the bottom, and she could not reach it. She tried to tip the pitcher over, but it was too heavy. Then she had an idea. She picked up a pebble and dropped it into the pitcher. Then another, and another. With every pebble the water rose a little, until at last it came up near the brim, and the crow drank until she was satisfied. Little by little does the trick.

THE BOY WHO CRIED WOLF

A shepherd boy who watched the village sheep on the hill grew bored with the quiet days. One morning, to see what would happen, he ran down toward the village shouting, "Wolf! Wolf! The wolf is among the sheep!" The villagers dropped their work and ran up the hill with sticks and stones, and found the sheep grazing peacefully and the boy laughing at them. A week later he did it again, and again they came, and again he laughed. Then one evening a wolf really did come out of the forest. The boy shouted "Wolf!" as loudly as he could, but the villagers shook their heads and went on with their suppers, thinking he was up to his old trick. Nobody believes a liar, even when he tells the truth.

THE TOWN MOUSE AND THE COUNTRY MOUSE

A country mouse invited her cousin from the town to visit, and set before her the best she had: dry peas, a crust of bread, and a little cheese rind. The town mouse nibbled politely and said, "Cousin, how can you bear to live like this? Come with me to the city and I will show you how to live." So the two of them set off and came at night to a great house, where the remains of a feast still lay on the table: cakes, jellies, honey and fruit. They had hardly begun to eat when the door flew open and in came the servants with lamps, and the two mice fled into a crack in the wall. When all was quiet they crept out again, and then the dogs came bounding in, barking. The country mouse said goodbye that same night. "You may keep your cakes," she said. "I would rather have my peas in peace than your feasts in fear."

THE WIND AND THE REED

An oak that grew beside a river was torn up by a storm and carried downstream, and it came to rest among some reeds on the bank. "How is it," the oak asked, "that you, so thin and weak, are still standing, when I, so great and strong, have been pulled up by the roots?" "You fought the wind," said the reeds, "and it broke you. We bow before it, and let it pass over us, and when it is gone we stand up again." Better to bend than to break.

THE LIGHTHOUSE KEEPER'S LOG, WRITTEN FOR THIS PROJECT

Monday. Wind from the west, steady. Lit the lamp at six. Two fishing boats came in before dark and one went out after, which is unusual for the season. Trimmed the wick at ten and again at two. Rain after midnight.

Tuesday. Wind backing to the south. The rain stopped at dawn and the sea was grey and flat. Cleaned the lens, which takes the whole morning if it is done properly, and it is always done properly. A gull has built a nest on the gallery rail. I have decided to let her keep it. Lit the lamp at six.

Wednesday. Fog. Sounded the horn every two minutes from four in the afternoon until the fog lifted a little before midnight. A steamer passed to the north, very close, and answered with her own horn. Afterwards the quiet was so complete that I could hear the gull's chicks.

Thursday. Clear and cold. The supply boat came with oil, flour, coffee, two letters and a newspaper that was nine days old. I read the newspaper twice. Nothing in it seemed to matter very much from here, which is either the best or the worst thing about this place. Lit the lamp at six.

Friday. Wind rising from the north-east all day. By evening the waves were breaking over the lower rocks and the spray reached the windows of the lamp room. The tower shakes a little in a gale. It has stood for ninety years and I expect it will stand tonight. Trimmed the wick at ten, at midnight, at two and at four. No ships. I think they had the sense to stay in harbour.

Saturday. The storm blew itself out before dawn. Walked around the island at low tide. Found a ship's plank, a glass float, a boot and a great deal of seaweed. The gull and her chicks are safe. Repainted the gallery rail, except for the part where the nest is.

Sunday. Calm. Wrote letters. Lit the lamp at six, as always. A lighthouse is not a clever machine. It does one thing, the same way, every night, and it matters only because it never fails to do it.

ON COUNTING, WRITTEN FOR THIS PROJECT

Count the stones on a path: one, two, three, four. Now count only the white ones, and say at the end whether you counted an odd or an even number. You do not need to remember every stone to do this. You need to remember only one thing, odd or even, and to flip it every time you pass a white stone. This is the smallest possible memory, a single bit, and yet a machine that cannot flip a bit cleanly will lose count on a long path, however much else it remembers.

Now count in fives: zero, one, two, three, four, and back to zero. Add three, take away one, multiply by two. At every step you hold a single number smaller than five, and at every step you change it by a rule. The rule is the same on the thousandth stone as on the first. A good memory for this task is not a large memory. It is an exact one.

Recall is different. Suppose a friend reads you a list of names and numbers: Ada, seven; Basil, three; Clara, nine. Later she asks, what was Basil's number? Now you must remember everything, because you do not know which name she will ask about. The more pairs she reads, the more you must hold, and a memory of fixed size will sooner or later overflow. The trick is to store each pair so that the name finds the number again, and to write new pairs over old ones without smudging the rest.

A NOTE ON LEARNING, WRITTEN FOR THIS PROJECT

A small model learning to write begins knowing nothing at all. At first its guesses are spread evenly over every letter, and what it writes looks like noise: a scatter of capitals, commas and stray spaces. After a few hundred steps it learns that spaces come between words, and that most words are short. Then it learns the common letters, the vowels and the pairs that often go together, th and he and in. Later still it learns whole words, the and and and of, and the shape of a line of verse, which ends with a newline after ten or eleven syllables. It never learns what the words mean. It learns only what usually comes next. That is enough to make it look, from a distance, as though it has read the sonnets; and it is a useful lesson in how much of language is pattern, and how much is something else.

The same is true of memory. A model that reads a long sequence must decide, at every step, what to keep and what to forget. If it keeps everything, its memory fills with noise. If it forgets too quickly, it cannot recall what it saw a hundred steps ago. The best models learn to write down what will be needed later, to overwrite what is out of date, and to let the rest fade. Watching a model learn this, one step at a time, is like watching a student learn to take notes: the early pages are copied word for word, and the later pages hold only what matters.
`;
