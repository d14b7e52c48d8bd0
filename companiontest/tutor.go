package companiontest

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// The scripted tutor behind /v1/chat/completions. It is deterministic: the
// reply is a function of the last user message alone (the system prompt and
// the earlier turns do not change it), so a test can compute the expected
// answer with [Answer].
//
// What it knows, in English and Chinese:
//
//   - equations in one variable, solved for real: linear ("solve 2x+3=7",
//     "解方程 3x - 4 = 11", "2(x+1) = x - 5") and quadratic ("x^2-5x+6=0");
//   - arithmetic, computed exactly ("what is 12*7", "12乘7等于多少",
//     "1/2 + 1/3");
//   - physics: Newton's three laws, Ohm's law, density, speed, kinetic
//     energy, free fall, pressure, buoyancy — with the numbers of the
//     question plugged in when their units say what they are;
//   - biology and geography: photosynthesis, the water cycle, cells;
//   - maths: the Pythagorean theorem, the area of a circle, fractions,
//     percentages, prime numbers, averages, linear and quadratic equations.
//
// Anything else gets a Socratic tutoring reply chosen by a hash of the
// question and naming its key words. Questions with different numbers get
// different answers. The reply is in Chinese when the question contains Han
// characters, in English otherwise.

// Answer returns the reply the fake server gives when question is the last
// user message of a chat completion request, before any max_tokens
// truncation. It is what a test should expect as the assistant's content:
//
//	srv := companiontest.NewServer()
//	// ... ask "solve 2x+3=7" through the client under test ...
//	want := companiontest.Answer("solve 2x+3=7") // "...x = 2..."
func Answer(question string) string {
	q := normalizeQuestion(question)
	zh := hasHan(q)
	if strings.TrimSpace(q) == "" {
		if zh {
			return greetingZH
		}
		return greetingEN
	}
	low := strings.ToLower(q)
	nums := extractNumbers(q)

	// Physics and science topics first: their questions often contain
	// "=" or "/" in units ("V = 12 V", "m/s"), which are no equations.
	for _, t := range scienceTopics {
		if t.match(low) {
			return t.answer(low, nums, zh)
		}
	}
	if a, ok := answerEquation(q, zh); ok {
		return a
	}
	if a, ok := answerArithmetic(low, zh); ok {
		return a
	}
	for _, t := range mathTopics {
		if t.match(low) {
			return t.answer(low, nums, zh)
		}
	}
	return genericAnswer(q, low, nums, zh)
}

const (
	greetingEN = "Hi! I'm your study companion. Ask me anything about maths, physics, chemistry or biology — " +
		"for example \"solve 2x + 3 = 7\", \"what is Newton's second law?\" or \"how does photosynthesis work?\". " +
		"I will explain step by step, ask you a question or two to check your understanding, and suggest " +
		"a short exercise so you can practise on your own."
	greetingZH = "你好！我是你的学习伙伴。你可以问我任何数学、物理、化学或生物的问题，" +
		"比如“解方程 2x + 3 = 7”、“什么是牛顿第二定律？”或者“光合作用是怎样进行的？”。" +
		"我会一步一步地讲解，再问你一两个问题检查理解，最后给你一道小练习，让你自己动手巩固。"
)

// topic is one subject the tutor knows.
type topic struct {
	name string
	// any: the question matches if it contains one of these (lower case).
	any []string
	// all: or if it contains, for some group, one word of every set.
	all [][][]string
	// explain is the topic's explanation, English and Chinese.
	en, zh string
	// compute, if set, works the question's numbers; it returns "" when
	// they are not enough.
	compute func(low string, nums []float64, zh bool) string
}

func (t *topic) match(low string) bool {
	for _, k := range t.any {
		if strings.Contains(low, k) {
			return true
		}
	}
	for _, group := range t.all {
		ok := true
		for _, set := range group {
			if !containsAny(low, set) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (t *topic) answer(low string, nums []float64, zh bool) string {
	text := t.en
	if zh {
		text = t.zh
	}
	if t.compute != nil {
		if worked := t.compute(low, nums, zh); worked != "" {
			return text + "\n\n" + worked
		}
	}
	if len(nums) > 0 {
		return text + "\n\n" + echoNumbers(nums, zh)
	}
	return text
}

// echoNumbers mentions the question's numbers, so that questions differing
// only in their numbers get different answers.
func echoNumbers(nums []float64, zh bool) string {
	s := make([]string, len(nums))
	for i, n := range nums {
		s[i] = fmtNum(n)
	}
	if zh {
		return "你给出的数字是 " + strings.Join(s, "、") + "。试着把它们代入上面的公式，先写出每个量的单位，再计算，最后检查结果是否合理。"
	}
	return "You mentioned " + joinAnd(s) + ". Try plugging them into the formula above: write down each quantity with its unit first, then calculate, and finally check whether the result is reasonable."
}

var scienceTopics = []*topic{
	{
		name: "newton1",
		any:  []string{"newton's first law", "newtons first law", "newton first law", "first law of motion", "law of inertia", "inertia", "牛顿第一定律", "惯性"},
		en: "Newton's first law (the law of inertia) says that an object stays at rest, or keeps moving in a straight line at constant speed, " +
			"unless a net external force acts on it. In other words, motion does not need a force to continue — only a change of motion does. " +
			"Example: when a bus brakes suddenly, your body keeps moving forward because of its inertia. " +
			"Question for you: why does a hockey puck slide much farther on ice than on grass?",
		zh: "牛顿第一定律（惯性定律）：一切物体在没有受到外力作用时，总保持静止状态或匀速直线运动状态。" +
			"也就是说，维持运动不需要力，改变运动状态才需要力。物体保持原来运动状态的性质叫做惯性，质量越大，惯性越大。" +
			"例子：公交车突然刹车时，乘客的身体会向前倾，因为身体由于惯性还要保持原来的运动状态。" +
			"想一想：为什么冰球在冰面上能滑得比在草地上远得多？",
	},
	{
		name: "newton2",
		any:  []string{"newton's second law", "newtons second law", "newton second law", "second law of motion", "f = ma", "f=ma", "牛顿第二定律"},
		all: [][][]string{
			{{"force"}, {"mass", "kg"}, {"accelerat"}},
			{{"力"}, {"质量", "千克", "kg"}, {"加速度"}},
		},
		en: "Newton's second law says that the acceleration of an object is proportional to the net force on it and inversely proportional to its mass: " +
			"F = m × a, where F is the net force in newtons (N), m the mass in kilograms (kg) and a the acceleration in m/s². " +
			"Doubling the force doubles the acceleration; doubling the mass halves it. " +
			"Remember that F is the net force: add all forces as vectors before you use the formula.",
		zh: "牛顿第二定律：物体的加速度跟所受的合外力成正比，跟物体的质量成反比，加速度的方向跟合外力的方向相同。" +
			"公式是 F = m × a，其中 F 是合外力（单位：牛顿 N），m 是质量（单位：千克 kg），a 是加速度（单位：米每二次方秒 m/s²）。" +
			"力加倍，加速度加倍；质量加倍，加速度减半。注意 F 指的是合力，使用公式之前要先把所有的力按矢量合成。",
		compute: computeNewton2,
	},
	{
		name: "newton3",
		any:  []string{"newton's third law", "newtons third law", "newton third law", "third law of motion", "action and reaction", "action-reaction", "牛顿第三定律", "作用力与反作用力", "作用力和反作用力", "反作用力"},
		en: "Newton's third law says that when one object exerts a force on a second object, the second object exerts a force of equal size " +
			"and opposite direction on the first: for every action there is an equal and opposite reaction. " +
			"The two forces act on different objects, so they never cancel each other out. " +
			"Example: when you swim, your hands push the water backwards and the water pushes you forwards. " +
			"Question for you: what pushes a rocket forward in empty space?",
		zh: "牛顿第三定律：两个物体之间的作用力和反作用力总是大小相等、方向相反，作用在同一条直线上。" +
			"注意这两个力分别作用在两个不同的物体上，所以它们不能互相抵消，这是它和“二力平衡”的根本区别。" +
			"例子：游泳时手向后推水，水同时向前推人，人就前进了。想一想：火箭在真空中是靠什么向前飞的？",
	},
	{
		name: "kinetic",
		any:  []string{"kinetic energy", "动能"},
		en: "Kinetic energy is the energy an object has because it moves: KE = ½ × m × v², with m the mass in kilograms and v the speed in metres per second; " +
			"the result is in joules (J). Because the speed is squared, doubling the speed makes the kinetic energy four times larger, " +
			"which is why braking distances grow so quickly with speed. " +
			"Question for you: which has more kinetic energy, a 1 kg ball at 4 m/s or a 4 kg ball at 1 m/s?",
		zh: "动能是物体由于运动而具有的能量，公式是 Ek = ½ × m × v²，其中 m 是质量（千克），v 是速度（米/秒），动能的单位是焦耳（J）。" +
			"因为速度是平方关系，速度变为原来的 2 倍，动能就变为原来的 4 倍，所以车速越快，刹车距离增加得越明显。" +
			"想一想：1 千克的球以 4 米/秒运动，和 4 千克的球以 1 米/秒运动，哪个动能更大？",
		compute: computeKinetic,
	},
	{
		name: "freefall",
		any:  []string{"free fall", "free-fall", "freefall", "acceleration due to gravity", "gravity", "gravitational", "自由落体", "重力加速度", "重力", "万有引力"},
		en: "Near the Earth's surface every object in free fall (no air resistance) accelerates downwards at g ≈ 9.8 m/s², whatever its mass. " +
			"Starting from rest, after t seconds its speed is v = g × t and it has fallen h = ½ × g × t². " +
			"Gravity itself is the attraction between masses; its size on an object is its weight, G = m × g. " +
			"Question for you: if you drop a hammer and a feather on the Moon, which lands first?",
		zh: "在地球表面附近，不计空气阻力时，一切物体做自由落体运动的加速度都是 g ≈ 9.8 m/s²，与质量无关。" +
			"从静止开始下落 t 秒后，速度 v = g × t，下落的高度 h = ½ × g × t²。" +
			"重力是由于地球的吸引而使物体受到的力，大小 G = m × g。想一想：在月球上同时释放锤子和羽毛，哪个先落地？",
		compute: computeFreeFall,
	},
	{
		name: "ohm",
		any:  []string{"ohm's law", "ohms law", "ohm", "resistance", "resistor", "欧姆", "电阻"},
		all: [][][]string{
			{{"voltage", "volt"}, {"current"}},
			{{"电压"}, {"电流"}},
		},
		en: "Ohm's law says that the current through a conductor is proportional to the voltage across it: V = I × R, " +
			"where V is the voltage in volts (V), I the current in amperes (A) and R the resistance in ohms (Ω). " +
			"So I = V ÷ R and R = V ÷ I. A larger resistance lets less current through for the same voltage. " +
			"Tip: cover the quantity you want in the V-I-R triangle and the other two show you the formula.",
		zh: "欧姆定律：导体中的电流，跟导体两端的电压成正比，跟导体的电阻成反比。公式是 I = U ÷ R，也可以写成 U = I × R、R = U ÷ I，" +
			"其中 U 是电压（伏特 V），I 是电流（安培 A），R 是电阻（欧姆 Ω）。电压一定时，电阻越大，电流越小。" +
			"小技巧：先写出已知的两个量和单位，统一单位后再代入公式。",
		compute: computeOhm,
	},
	{
		name: "density",
		any:  []string{"density", "密度"},
		en: "Density tells you how much mass is packed into a given volume: ρ = m ÷ V, with m the mass and V the volume. " +
			"In SI units it is kg/m³; in the lab we often use g/cm³ (1 g/cm³ = 1000 kg/m³). Water has a density of about 1 g/cm³, " +
			"so objects with a smaller density float on water and those with a larger density sink. " +
			"Question for you: does cutting a block of wood in half change its density?",
		zh: "密度表示单位体积内物质的质量：ρ = m ÷ V，其中 m 是质量，V 是体积。国际单位是 kg/m³，实验室常用 g/cm³（1 g/cm³ = 1000 kg/m³）。" +
			"水的密度约为 1 g/cm³，密度比水小的物体会浮在水面上，比水大的会下沉。密度是物质的一种特性，与质量和体积的大小无关。" +
			"想一想：把一块木头锯成两半，它的密度会变吗？",
		compute: computeDensity,
	},
	{
		name: "pressure",
		any:  []string{"pressure", "压强"},
		en: "Pressure is the force acting on each unit of area: p = F ÷ S, with F the force in newtons and S the area in square metres; " +
			"the unit is the pascal (1 Pa = 1 N/m²). The same force on a smaller area gives a larger pressure — " +
			"that is why knives are sharp and why snowshoes are wide. In a liquid the pressure grows with depth: p = ρ × g × h. " +
			"Question for you: why does lying on an air mattress feel softer than standing on it?",
		zh: "压强是物体单位面积上受到的压力：p = F ÷ S，其中 F 是压力（牛顿 N），S 是受力面积（平方米 m²），单位是帕斯卡（1 Pa = 1 N/m²）。" +
			"压力一定时，受力面积越小，压强越大，所以刀刃要磨得很薄，而滑雪板做得很宽。液体内部的压强随深度增加：p = ρ × g × h。" +
			"想一想：为什么躺在气垫上比站在上面感觉更舒服？",
		compute: computePressure,
	},
	{
		name: "buoyancy",
		any:  []string{"buoyan", "archimedes", "浮力", "阿基米德"},
		en: "Archimedes' principle says that an object in a fluid is pushed up by a buoyant force equal to the weight of the fluid it displaces: " +
			"F = ρ(fluid) × g × V(displaced). If the buoyant force is larger than the object's weight, the object rises; if smaller, it sinks; " +
			"a floating object displaces exactly its own weight of fluid. " +
			"Question for you: why does a steel ship float while a steel nail sinks?",
		zh: "阿基米德原理：浸在液体中的物体受到向上的浮力，浮力的大小等于它排开的液体所受的重力，即 F浮 = ρ液 × g × V排。" +
			"浮力大于重力时物体上浮，小于重力时下沉，漂浮的物体受到的浮力等于它自身的重力。" +
			"想一想：为什么钢铁做的轮船能浮在水面上，而一根铁钉却会沉下去？",
	},
	{
		name: "speed",
		any:  []string{"speed", "velocity", "how fast", "速度", "速率"},
		all: [][][]string{
			{{"distance"}, {"time", "hour", "second", "minute"}},
			{{"路程", "距离"}, {"时间", "小时", "秒", "分钟"}},
		},
		en: "Speed tells you how far something travels per unit of time: speed = distance ÷ time (v = s ÷ t). " +
			"In SI units it is metres per second (m/s); in everyday life we also use km/h (1 m/s = 3.6 km/h). " +
			"Rearranged, distance = speed × time and time = distance ÷ speed. Velocity is speed together with a direction. " +
			"Question for you: a cyclist rides 30 km in 2 hours — what is her average speed?",
		zh: "速度表示物体运动的快慢，等于路程与时间之比：v = s ÷ t。国际单位是米每秒（m/s），日常生活中也用千米每小时（km/h），1 m/s = 3.6 km/h。" +
			"公式变形可得：路程 s = v × t，时间 t = s ÷ v。计算时一定要先统一单位。" +
			"想一想：一个人骑自行车 2 小时行驶了 30 千米，他的平均速度是多少？",
		compute: computeSpeed,
	},
	{
		name: "photosynthesis",
		any:  []string{"photosynthesis", "chlorophyll", "光合作用", "叶绿素"},
		en: "Photosynthesis is how green plants make their own food. In the chloroplasts of leaf cells, chlorophyll absorbs light energy and uses it " +
			"to turn carbon dioxide from the air and water from the soil into glucose and oxygen: " +
			"6CO₂ + 6H₂O → C₆H₁₂O₆ + 6O₂ (with light). The glucose stores the energy for the plant, and the oxygen is released into the air. " +
			"Question for you: why do plants in a dark cupboard slowly turn yellow?",
		zh: "光合作用是绿色植物利用光能，在叶绿体中把二氧化碳和水转化成储存能量的有机物（如葡萄糖），并释放出氧气的过程。" +
			"反应式可以写成：二氧化碳 + 水 →（光能、叶绿体）→ 有机物 + 氧气，即 6CO₂ + 6H₂O → C₆H₁₂O₆ + 6O₂。" +
			"光是条件，叶绿体是场所。想一想：为什么放在黑暗柜子里的植物会慢慢变黄？",
	},
	{
		name: "watercycle",
		any:  []string{"water cycle", "hydrologic cycle", "evaporation", "condensation", "水循环", "蒸发", "凝结"},
		en: "The water cycle moves water around the Earth. The Sun heats oceans and lakes, and water evaporates into vapour; plants add more by transpiration. " +
			"The vapour rises, cools and condenses into tiny droplets that form clouds. When the droplets grow heavy they fall as precipitation — rain, snow or hail — " +
			"and the water runs off into rivers or soaks into the ground, back to the sea. " +
			"Question for you: where does the energy that drives the water cycle come from?",
		zh: "水循环是水在地球上不断运动和转化的过程。太阳照射海洋和湖泊，水蒸发变成水蒸气，植物的蒸腾作用也会增加水汽；" +
			"水蒸气上升、遇冷凝结成小水滴形成云；小水滴变大后以雨、雪、冰雹等形式降落，这叫降水；" +
			"降水一部分形成地表径流汇入江河，一部分渗入地下，最终又回到海洋。想一想：驱动水循环的能量来自哪里？",
	},
	{
		name: "cell",
		any:  []string{"cell membrane", "mitochondri", "nucleus of a cell", "what is a cell", "animal cell", "plant cell", "cell wall", "细胞"},
		en: "A cell is the smallest unit of life. Every cell has a cell membrane that controls what goes in and out, cytoplasm where most reactions happen, " +
			"and genetic material (DNA), which in plant and animal cells sits in a nucleus. Mitochondria release energy from food by respiration. " +
			"Plant cells also have a cell wall for support, a large vacuole and chloroplasts for photosynthesis. " +
			"Question for you: which of these parts would you not find in a human cheek cell?",
		zh: "细胞是生物体结构和功能的基本单位。细胞都有细胞膜，控制物质进出；有细胞质，许多生命活动在这里进行；" +
			"还有遗传物质 DNA，动植物细胞的 DNA 主要在细胞核里。线粒体通过呼吸作用释放能量。" +
			"植物细胞还有细胞壁起支持作用，有大液泡和进行光合作用的叶绿体。想一想：人的口腔上皮细胞里没有哪些结构？",
	},
}

var mathTopics = []*topic{
	{
		name: "quadratic",
		any:  []string{"quadratic", "一元二次", "二次方程", "求根公式"},
		en: "A quadratic equation has the form ax² + bx + c = 0 with a ≠ 0. You can solve it by factorising, by completing the square, " +
			"or with the quadratic formula x = (−b ± √(b² − 4ac)) ÷ 2a. The discriminant Δ = b² − 4ac tells you how many real solutions there are: " +
			"two if Δ > 0, one if Δ = 0, none if Δ < 0. " +
			"Try it: solve x² − 5x + 6 = 0 — which two numbers multiply to 6 and add up to 5?",
		zh: "一元二次方程的一般形式是 ax² + bx + c = 0（a ≠ 0）。解法有因式分解法、配方法和公式法，求根公式是 x = (−b ± √(b² − 4ac)) ÷ 2a。" +
			"判别式 Δ = b² − 4ac 决定实数根的个数：Δ > 0 有两个不相等的实数根，Δ = 0 有两个相等的实数根，Δ < 0 没有实数根。" +
			"练一练：解方程 x² − 5x + 6 = 0，哪两个数相乘得 6、相加得 5？",
	},
	{
		name: "pythagoras",
		any:  []string{"pythagor", "hypotenuse", "right triangle", "right-angled triangle", "right angled triangle", "勾股", "斜边", "直角三角形"},
		en: "The Pythagorean theorem says that in a right triangle the square of the hypotenuse (the side opposite the right angle) equals the sum of the squares " +
			"of the other two sides: a² + b² = c². So c = √(a² + b²), and a leg is a = √(c² − b²). " +
			"The classic example is the 3-4-5 triangle: 3² + 4² = 9 + 16 = 25 = 5². " +
			"Question for you: can a triangle with sides 5, 12 and 13 have a right angle?",
		zh: "勾股定理：直角三角形两条直角边的平方和等于斜边的平方，即 a² + b² = c²。所以斜边 c = √(a² + b²)，已知斜边求直角边时 a = √(c² − b²)。" +
			"最经典的例子是“勾三股四弦五”：3² + 4² = 9 + 16 = 25 = 5²。" +
			"想一想：三边分别是 5、12、13 的三角形是直角三角形吗？",
		compute: computePythagoras,
	},
	{
		name: "circle",
		any:  []string{"area of a circle", "area of circle", "circle", "radius", "diameter", "圆的面积", "圆面积", "半径", "直径", "圆"},
		en: "The area of a circle is A = π × r², where r is the radius and π ≈ 3.14159. The circumference is C = 2 × π × r. " +
			"If you are given the diameter d, halve it first: r = d ÷ 2. The area grows with the square of the radius, " +
			"so a circle with twice the radius has four times the area. " +
			"Question for you: how many times larger is the area of a pizza with a 30 cm diameter than one with a 15 cm diameter?",
		zh: "圆的面积公式是 S = π × r²，其中 r 是半径，π ≈ 3.14159；圆的周长是 C = 2 × π × r。" +
			"如果已知的是直径 d，要先求半径 r = d ÷ 2。面积与半径的平方成正比，半径扩大到原来的 2 倍，面积就扩大到原来的 4 倍。" +
			"想一想：直径 30 厘米的披萨，面积是直径 15 厘米的披萨的几倍？",
		compute: computeCircle,
	},
	{
		name: "percent",
		any:  []string{"percent", "%", "百分"},
		en: "A percentage is a fraction out of 100: p% means p ÷ 100. To find p% of a number, multiply the number by p and divide by 100. " +
			"To find what percentage a part is of a whole, divide the part by the whole and multiply by 100. " +
			"For an increase of p%, multiply by (1 + p ÷ 100); for a decrease, by (1 − p ÷ 100). " +
			"Question for you: is a 10% rise followed by a 10% fall the same as no change?",
		zh: "百分数表示一个数是另一个数的百分之几：p% 就是 p ÷ 100。求一个数的 p%，用这个数乘 p 再除以 100；" +
			"求一个数占另一个数的百分之几，用部分除以整体再乘 100%。增加 p% 就乘 (1 + p ÷ 100)，减少 p% 就乘 (1 − p ÷ 100)。" +
			"想一想：先涨价 10% 再降价 10%，价格回到原来了吗？",
		compute: computePercent,
	},
	{
		name: "fractions",
		any:  []string{"fraction", "numerator", "denominator", "分数", "分子", "分母", "通分", "约分"},
		en: "A fraction a/b means a parts out of b equal parts: a is the numerator and b the denominator. " +
			"To add or subtract fractions, first rewrite them with a common denominator: 1/2 + 1/3 = 3/6 + 2/6 = 5/6. " +
			"To multiply, multiply the numerators and the denominators; to divide, multiply by the reciprocal. " +
			"Always simplify at the end by dividing top and bottom by their greatest common divisor. " +
			"Question for you: which is larger, 3/4 or 5/7?",
		zh: "分数 a/b 表示把单位“1”平均分成 b 份，取其中的 a 份：a 是分子，b 是分母。" +
			"异分母分数相加减，要先通分：1/2 + 1/3 = 3/6 + 2/6 = 5/6。分数相乘，分子乘分子、分母乘分母；分数相除，等于乘除数的倒数。" +
			"计算结果要约分成最简分数。想一想：3/4 和 5/7 哪个大？",
	},
	{
		name: "prime",
		any:  []string{"prime", "质数", "素数"},
		en: "A prime number is a whole number greater than 1 whose only divisors are 1 and itself: 2, 3, 5, 7, 11, 13, … " +
			"A number with more divisors is composite, and every composite number can be written as a product of primes in exactly one way, " +
			"for example 60 = 2 × 2 × 3 × 5. To test a number n, you only need to try dividing by the primes up to √n. " +
			"Question for you: why is 2 the only even prime?",
		zh: "质数（素数）是大于 1、并且除了 1 和它本身以外没有别的因数的自然数，比如 2、3、5、7、11、13……" +
			"有更多因数的数叫合数，每个合数都能唯一地分解成质因数的乘积，例如 60 = 2 × 2 × 3 × 5。" +
			"判断 n 是不是质数，只要用不超过 √n 的质数去试除就够了。想一想：为什么 2 是唯一的偶质数？",
		compute: computePrime,
	},
	{
		name: "average",
		any:  []string{"average", "mean of", "arithmetic mean", "平均数", "平均值", "平均分"},
		en: "The average (arithmetic mean) of a list of numbers is their sum divided by how many there are: mean = (x₁ + x₂ + … + xₙ) ÷ n. " +
			"It is the value each number would have if the total were shared out equally. " +
			"The mean is sensitive to extreme values, so sometimes the median (the middle value) describes the data better. " +
			"Question for you: if four test scores average 80, what must the fifth score be for the average to become 82?",
		zh: "平均数等于一组数据的总和除以数据的个数：平均数 = (x₁ + x₂ + … + xₙ) ÷ n，它表示把总数平均分配后每一份是多少。" +
			"平均数容易受极端值的影响，有时用中位数更能代表一组数据。" +
			"想一想：四次测验的平均分是 80 分，第五次要考多少分，五次的平均分才能达到 82 分？",
		compute: computeAverage,
	},
	{
		name: "linear",
		any:  []string{"linear equation", "solve for x", "equation", "一元一次方程", "方程"},
		en: "To solve a linear equation in one variable, do the same thing to both sides until the variable stands alone. " +
			"First expand brackets, then move all the terms with x to one side and all the numbers to the other, " +
			"combine like terms, and finally divide both sides by the coefficient of x. " +
			"Always check your answer by substituting it back into the original equation. " +
			"Try it: solve 2x + 3 = 7 — what do you do first?",
		zh: "解一元一次方程的基本思路是：对方程两边做同样的变形，直到未知数单独留在一边。" +
			"步骤是：去分母、去括号、移项（把含 x 的项移到一边，常数项移到另一边，移项要变号）、合并同类项、系数化为 1。" +
			"解完后一定要把结果代回原方程检验。练一练：解方程 2x + 3 = 7，第一步应该做什么？",
	},
}

// genericAnswer is the Socratic reply to a question the tutor has no
// script for.
func genericAnswer(q, low string, nums []float64, zh bool) string {
	h := fnv.New32a()
	h.Write([]byte(strings.Join(strings.Fields(low), " ")))
	pick := int(h.Sum32() % 4)
	var b strings.Builder
	if zh {
		subject := []rune(strings.TrimFunc(q, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }))
		if len(subject) > 24 {
			subject = append(subject[:24], '…')
		}
		kw := "“" + string(subject) + "”"
		switch pick {
		case 0:
			fmt.Fprintf(&b, "关于%s这个问题，我们先不急着要答案，一起来想一想。你已经知道哪些相关的知识？请先写下一条你确定的事实，再写下一处让你困惑的地方。"+
				"然后想一想它们之间是什么关系：是一个定义、一条规律，还是一个因果关系？如果卡住了，可以先看一个最简单的例子，一步一步描述会发生什么。"+
				"把你的第一个想法告诉我，我来帮你检查，再一起走下一步。", kw)
		case 1:
			fmt.Fprintf(&b, "这是个好问题：%s。我们把它拆成三个小问题：第一，题目里涉及哪些概念，它们各自的意思是什么？第二，已知条件有哪些，要求的是什么？"+
				"第三，哪条公式或规律能把已知和未知联系起来？请你先回答第一个小问题，用自己的话说说这些概念。"+
				"说错了也没关系，我们正是要从错误里学习。", kw)
		case 2:
			fmt.Fprintf(&b, "我们来用“提问—猜想—验证”的方法研究%s。先提出你的猜想：你觉得答案大概是什么？为什么？"+
				"接着想一个办法验证它，比如举一个具体的例子、画一张图，或者估算一下数量级。"+
				"如果验证的结果和猜想不一致，就说明我们漏掉了某个条件，这恰恰是最有收获的时候。说说你的猜想吧。", kw)
		default:
			fmt.Fprintf(&b, "要弄懂%s，可以试试“费曼学习法”：假设你要把它讲给一个比你小三岁的同学听。"+
				"先用最简单的话讲一遍，遇到讲不清楚的地方，就说明那里是你还没真正理解的部分，回到课本或笔记里把它弄明白，再重新讲一遍。"+
				"现在请你先试着用两三句话解释一下，我来帮你找出需要补充的地方。", kw)
		}
	} else {
		kw := keywords(low)
		switch pick {
		case 0:
			fmt.Fprintf(&b, "Good question about %s! Before I give you the answer, let's think it through together. "+
				"What do you already know about %s? Try to write down one fact you are sure of and one thing that confuses you. "+
				"Then ask yourself how they are connected: is it a definition, a rule, or a cause and effect? "+
				"If you get stuck, look at the simplest example you can think of and describe what happens step by step. "+
				"Tell me your first idea and I will help you check it and take the next step.", kw, kw)
		case 1:
			fmt.Fprintf(&b, "Let's break your question about %s into smaller pieces. First, which ideas or terms does it involve, and what does each one mean? "+
				"Second, what information do you have, and what exactly are you asked to find? "+
				"Third, which rule or formula links what you know to what you want? "+
				"Start by answering the first part in your own words — it's fine to be wrong, that's how we find what to work on.", kw)
		case 2:
			fmt.Fprintf(&b, "Let's investigate %s like a scientist: question, guess, test. "+
				"What is your guess for the answer, and why do you think so? "+
				"Next, think of a way to test your guess: a concrete example, a quick sketch, or a rough estimate of the size of the answer. "+
				"If the test disagrees with your guess, we have found a missing piece, and that is when you learn the most. "+
				"So, what's your guess?", kw)
		default:
			fmt.Fprintf(&b, "A good way to understand %s is to explain it to someone younger than you. "+
				"Try to describe it in two or three simple sentences, without any jargon. "+
				"Wherever your explanation gets vague, that is the part you have not fully understood yet: go back to your notes for that part and try again. "+
				"Write your explanation down and send it to me — I will point out what is missing and what is already right.", kw)
		}
	}
	if len(nums) > 0 {
		s := make([]string, len(nums))
		for i, n := range nums {
			s[i] = fmtNum(n)
		}
		if zh {
			b.WriteString("\n\n题目里的数字是 " + strings.Join(s, "、") + "，先记下它们，等思路清楚了我们再用。")
		} else {
			b.WriteString("\n\nYour question mentions " + joinAnd(s) + "; keep them in mind, we will use them once the idea is clear.")
		}
	}
	return b.String()
}

var stopwords = map[string]bool{
	"a": true, "an": true, "the": true, "is": true, "are": true, "was": true, "were": true, "be": true, "been": true,
	"of": true, "to": true, "in": true, "on": true, "for": true, "and": true, "or": true, "but": true, "not": true,
	"what": true, "whats": true, "how": true, "why": true, "when": true, "where": true, "which": true, "who": true,
	"does": true, "do": true, "did": true, "can": true, "could": true, "would": true, "should": true, "will": true,
	"you": true, "your": true, "me": true, "my": true, "i": true, "we": true, "us": true, "it": true, "its": true,
	"this": true, "that": true, "these": true, "those": true, "with": true, "as": true, "at": true, "by": true,
	"from": true, "about": true, "please": true, "tell": true, "explain": true, "help": true, "understand": true,
	"there": true, "their": true, "they": true, "them": true, "if": true, "so": true, "than": true, "then": true,
	"have": true, "has": true, "had": true, "get": true, "some": true, "any": true, "all": true, "into": true,
	"s": true, "t": true, "don": true, "doesn": true, "isn": true, "let": true, "like": true, "mean": true, "means": true,
}

// keywords returns up to three key words of an English question, quoted,
// in their order of appearance.
func keywords(low string) string {
	var kw []string
	for _, w := range strings.FieldsFunc(low, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if stopwords[w] || len([]rune(w)) < 3 || slices.Contains(kw, w) {
			continue
		}
		kw = append(kw, w)
		if len(kw) == 3 {
			break
		}
	}
	if len(kw) == 0 {
		return "this topic"
	}
	for i := range kw {
		kw[i] = "\"" + kw[i] + "\""
	}
	return joinAnd(kw)
}

func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// ---- text helpers ----

// normalizeQuestion maps full-width ASCII to ASCII and typographic
// symbols to their plain forms.
func normalizeQuestion(q string) string {
	var b strings.Builder
	b.Grow(len(q))
	for _, r := range q {
		switch {
		case r >= '！' && r <= '～':
			r -= '！' - '!'
		case r == '　':
			r = ' '
		case r == '’' || r == '‘':
			r = '\''
		case r == '−' || r == '–' || r == '—':
			r = '-'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

func containsAny(s string, subs []string) bool {
	for _, k := range subs {
		if strings.Contains(s, k) {
			return true
		}
	}
	return false
}

var numberRE = regexp.MustCompile(`\d+(?:\.\d+)?`)

// extractNumbers returns the numbers written in digits in s (at most 12).
func extractNumbers(s string) []float64 {
	var out []float64
	for _, m := range numberRE.FindAllString(s, 12) {
		if len(m) > 18 {
			m = m[:18]
		}
		if f, err := strconv.ParseFloat(strings.TrimSuffix(m, "."), 64); err == nil {
			out = append(out, f)
		}
	}
	return out
}

// fmtNum formats a computed value: integers exactly, others with up to
// four decimals.
func fmtNum(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "undefined"
	}
	if r := math.Round(f); math.Abs(f-r) < 1e-9 && math.Abs(r) < 1e15 {
		return strconv.FormatFloat(r, 'f', -1, 64)
	}
	if math.Abs(f) >= 1e15 || math.Abs(f) < 1e-4 {
		return strconv.FormatFloat(f, 'g', 6, 64)
	}
	s := strconv.FormatFloat(f, 'f', 4, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// ---- quantities with units ----

// quantity is a number of the question with the unit written after it.
type quantity struct {
	v    float64
	unit string // lower case, without spaces
}

var quantityRE = regexp.MustCompile(`(\d+(?:\.\d+)?)\s*([a-zA-Zµμω°/²³^23·]+|\p{Han}{1,4})?`)

func quantities(low string) []quantity {
	var out []quantity
	for _, m := range quantityRE.FindAllStringSubmatch(low, 12) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			continue
		}
		out = append(out, quantity{v: v, unit: strings.ToLower(m[2])})
	}
	return out
}

// isUnit reports whether a quantity's unit is exactly one of units, or
// starts with one of them followed by a non-letter.
func isUnit(unit string, units ...string) bool {
	for _, u := range units {
		if unit == u {
			return true
		}
		if strings.HasPrefix(unit, u) {
			rest := []rune(unit[len(u):])
			if len(rest) > 0 && !unicode.IsLetter(rest[0]) || len(rest) > 0 && unicode.Is(unicode.Han, rest[0]) {
				return true
			}
		}
	}
	return false
}

func findUnit(qs []quantity, units ...string) (float64, bool) {
	for _, q := range qs {
		if isUnit(q.unit, units...) {
			return q.v, true
		}
	}
	return 0, false
}

var (
	massUnits  = []string{"kg", "kilogram", "kilograms", "千克", "公斤"}
	gramUnits  = []string{"g", "gram", "grams", "克"}
	accelUnits = []string{"m/s²", "m/s^2", "m/s2", "米每二次方秒"}
	speedUnits = []string{"m/s", "米/秒", "米每秒"}
)

func computeNewton2(low string, _ []float64, zh bool) string {
	qs := quantities(low)
	m, okM := findUnit(qs, massUnits...)
	if !okM {
		if g, ok := findUnit(qs, gramUnits...); ok {
			m, okM = g/1000, true
		}
	}
	a, okA := findUnit(qs, accelUnits...)
	f, okF := findUnit(qs, "n", "newton", "newtons", "牛", "牛顿")
	switch {
	case okM && okA:
		if zh {
			return fmt.Sprintf("代入你的数据：F = m × a = %s kg × %s m/s² = %s N。所以物体受到的合力是 %s 牛顿。", fmtNum(m), fmtNum(a), fmtNum(m*a), fmtNum(m*a))
		}
		return fmt.Sprintf("With your numbers: F = m × a = %s kg × %s m/s² = %s N. So the net force is %s newtons.", fmtNum(m), fmtNum(a), fmtNum(m*a), fmtNum(m*a))
	case okF && okM && m != 0:
		if zh {
			return fmt.Sprintf("代入你的数据：a = F ÷ m = %s N ÷ %s kg = %s m/s²。", fmtNum(f), fmtNum(m), fmtNum(f/m))
		}
		return fmt.Sprintf("With your numbers: a = F ÷ m = %s N ÷ %s kg = %s m/s².", fmtNum(f), fmtNum(m), fmtNum(f/m))
	case okF && okA && a != 0:
		if zh {
			return fmt.Sprintf("代入你的数据：m = F ÷ a = %s N ÷ %s m/s² = %s kg。", fmtNum(f), fmtNum(a), fmtNum(f/a))
		}
		return fmt.Sprintf("With your numbers: m = F ÷ a = %s N ÷ %s m/s² = %s kg.", fmtNum(f), fmtNum(a), fmtNum(f/a))
	}
	return ""
}

func computeKinetic(low string, _ []float64, zh bool) string {
	qs := quantities(low)
	m, okM := findUnit(qs, massUnits...)
	v, okV := findUnit(qs, speedUnits...)
	if !okM || !okV {
		return ""
	}
	ke := 0.5 * m * v * v
	if zh {
		return fmt.Sprintf("代入你的数据：Ek = ½ × %s kg × (%s m/s)² = %s J。", fmtNum(m), fmtNum(v), fmtNum(ke))
	}
	return fmt.Sprintf("With your numbers: KE = ½ × %s kg × (%s m/s)² = %s J.", fmtNum(m), fmtNum(v), fmtNum(ke))
}

const gravity = 9.8

func computeFreeFall(low string, _ []float64, zh bool) string {
	qs := quantities(low)
	if t, ok := findUnit(qs, "s", "sec", "second", "seconds", "秒"); ok {
		v, h := gravity*t, 0.5*gravity*t*t
		if zh {
			return fmt.Sprintf("代入你的数据（g 取 9.8 m/s²）：下落 %s 秒后，速度 v = 9.8 × %s = %s m/s，下落高度 h = ½ × 9.8 × %s² = %s m。", fmtNum(t), fmtNum(t), fmtNum(v), fmtNum(t), fmtNum(h))
		}
		return fmt.Sprintf("With your numbers (g = 9.8 m/s²): after %s s the speed is v = 9.8 × %s = %s m/s and the object has fallen h = ½ × 9.8 × %s² = %s m.", fmtNum(t), fmtNum(t), fmtNum(v), fmtNum(t), fmtNum(h))
	}
	if h, ok := findUnit(qs, "m", "metre", "meter", "metres", "meters", "米"); ok {
		t := math.Sqrt(2 * h / gravity)
		if zh {
			return fmt.Sprintf("代入你的数据（g 取 9.8 m/s²）：从 %s 米高处下落，时间 t = √(2h ÷ g) = √(2 × %s ÷ 9.8) ≈ %s s，落地速度 v = g × t ≈ %s m/s。", fmtNum(h), fmtNum(h), fmtNum(t), fmtNum(gravity*t))
		}
		return fmt.Sprintf("With your numbers (g = 9.8 m/s²): falling %s m takes t = √(2h ÷ g) = √(2 × %s ÷ 9.8) ≈ %s s, and it lands at v = g × t ≈ %s m/s.", fmtNum(h), fmtNum(h), fmtNum(t), fmtNum(gravity*t))
	}
	return ""
}

func computeOhm(low string, _ []float64, zh bool) string {
	qs := quantities(low)
	v, okV := findUnit(qs, "v", "volt", "volts", "伏", "伏特")
	i, okI := findUnit(qs, "a", "amp", "amps", "ampere", "amperes", "安", "安培")
	if !okI {
		if ma, ok := findUnit(qs, "ma", "毫安"); ok {
			i, okI = ma/1000, true
		}
	}
	r, okR := findUnit(qs, "ω", "ohm", "ohms", "欧", "欧姆")
	u := "V"
	if zh {
		u = "U"
	}
	switch {
	case okV && okR && r != 0:
		if zh {
			return fmt.Sprintf("代入你的数据：I = U ÷ R = %s V ÷ %s Ω = %s A。", fmtNum(v), fmtNum(r), fmtNum(v/r))
		}
		return fmt.Sprintf("With your numbers: I = V ÷ R = %s V ÷ %s Ω = %s A.", fmtNum(v), fmtNum(r), fmtNum(v/r))
	case okI && okR:
		if zh {
			return fmt.Sprintf("代入你的数据：U = I × R = %s A × %s Ω = %s V。", fmtNum(i), fmtNum(r), fmtNum(i*r))
		}
		return fmt.Sprintf("With your numbers: %s = I × R = %s A × %s Ω = %s V.", u, fmtNum(i), fmtNum(r), fmtNum(i*r))
	case okV && okI && i != 0:
		if zh {
			return fmt.Sprintf("代入你的数据：R = U ÷ I = %s V ÷ %s A = %s Ω。", fmtNum(v), fmtNum(i), fmtNum(v/i))
		}
		return fmt.Sprintf("With your numbers: R = V ÷ I = %s V ÷ %s A = %s Ω.", fmtNum(v), fmtNum(i), fmtNum(v/i))
	}
	return ""
}

func computeDensity(low string, _ []float64, zh bool) string {
	qs := quantities(low)
	type unitPair struct {
		mass, volume []string
		unit         string
	}
	for _, p := range []unitPair{
		{gramUnits, []string{"cm³", "cm3", "cm^3", "ml", "立方厘米", "毫升"}, "g/cm³"},
		{massUnits, []string{"m³", "m3", "m^3", "立方米"}, "kg/m³"},
		{massUnits, []string{"l", "litre", "liter", "litres", "liters", "升"}, "kg/L"},
	} {
		m, okM := findUnit(qs, p.mass...)
		v, okV := findUnit(qs, p.volume...)
		if okM && okV && v != 0 {
			if zh {
				return fmt.Sprintf("代入你的数据：ρ = m ÷ V = %s ÷ %s = %s %s。", fmtNum(m), fmtNum(v), fmtNum(m/v), p.unit)
			}
			return fmt.Sprintf("With your numbers: ρ = m ÷ V = %s ÷ %s = %s %s.", fmtNum(m), fmtNum(v), fmtNum(m/v), p.unit)
		}
	}
	return ""
}

func computePressure(low string, _ []float64, zh bool) string {
	qs := quantities(low)
	f, okF := findUnit(qs, "n", "newton", "newtons", "牛", "牛顿")
	s, okS := findUnit(qs, "m²", "m2", "m^2", "平方米")
	if !okF || !okS || s == 0 {
		return ""
	}
	if zh {
		return fmt.Sprintf("代入你的数据：p = F ÷ S = %s N ÷ %s m² = %s Pa。", fmtNum(f), fmtNum(s), fmtNum(f/s))
	}
	return fmt.Sprintf("With your numbers: p = F ÷ S = %s N ÷ %s m² = %s Pa.", fmtNum(f), fmtNum(s), fmtNum(f/s))
}

func computeSpeed(low string, _ []float64, zh bool) string {
	qs := quantities(low)
	type pair struct {
		dist, time []string
		du, tu     string
	}
	for _, p := range []pair{
		{[]string{"km", "kilometre", "kilometer", "kilometres", "kilometers", "千米", "公里"}, []string{"h", "hour", "hours", "hr", "小时"}, "km", "h"},
		{[]string{"m", "metre", "meter", "metres", "meters", "米"}, []string{"s", "sec", "second", "seconds", "秒"}, "m", "s"},
		{[]string{"m", "metre", "meter", "metres", "meters", "米"}, []string{"min", "minute", "minutes", "分钟"}, "m", "min"},
		{[]string{"km", "kilometre", "kilometer", "kilometres", "kilometers", "千米", "公里"}, []string{"min", "minute", "minutes", "分钟"}, "km", "min"},
		{[]string{"mile", "miles"}, []string{"h", "hour", "hours", "hr"}, "miles", "h"},
	} {
		d, okD := findUnit(qs, p.dist...)
		t, okT := findUnit(qs, p.time...)
		if okD && okT && t != 0 {
			if zh {
				return fmt.Sprintf("代入你的数据：v = s ÷ t = %s %s ÷ %s %s = %s %s/%s。", fmtNum(d), p.du, fmtNum(t), p.tu, fmtNum(d/t), p.du, p.tu)
			}
			return fmt.Sprintf("With your numbers: v = s ÷ t = %s %s ÷ %s %s = %s %s/%s.", fmtNum(d), p.du, fmtNum(t), p.tu, fmtNum(d/t), p.du, p.tu)
		}
	}
	return ""
}

func computePythagoras(_ string, nums []float64, zh bool) string {
	if len(nums) != 2 {
		return ""
	}
	a, b := nums[0], nums[1]
	c := math.Sqrt(a*a + b*b)
	if zh {
		return fmt.Sprintf("代入你的数据（把 %s 和 %s 看作两条直角边）：c = √(%s² + %s²) = √%s ≈ %s。", fmtNum(a), fmtNum(b), fmtNum(a), fmtNum(b), fmtNum(a*a+b*b), fmtNum(c))
	}
	return fmt.Sprintf("With your numbers (taking %s and %s as the two legs): c = √(%s² + %s²) = √%s ≈ %s.", fmtNum(a), fmtNum(b), fmtNum(a), fmtNum(b), fmtNum(a*a+b*b), fmtNum(c))
}

func computeCircle(low string, nums []float64, zh bool) string {
	if len(nums) != 1 {
		return ""
	}
	r := nums[0]
	diameter := strings.Contains(low, "diameter") || strings.Contains(low, "直径")
	if diameter {
		r /= 2
	}
	area := math.Pi * r * r
	if zh {
		pre := ""
		if diameter {
			pre = fmt.Sprintf("直径是 %s，所以半径 r = %s ÷ 2 = %s；", fmtNum(nums[0]), fmtNum(nums[0]), fmtNum(r))
		}
		return fmt.Sprintf("代入你的数据：%s面积 S = π × %s² ≈ %s，周长 C = 2 × π × %s ≈ %s。", pre, fmtNum(r), fmtNum(area), fmtNum(r), fmtNum(2*math.Pi*r))
	}
	pre := ""
	if diameter {
		pre = fmt.Sprintf("the diameter is %s, so r = %s ÷ 2 = %s; ", fmtNum(nums[0]), fmtNum(nums[0]), fmtNum(r))
	}
	return fmt.Sprintf("With your numbers: %sthe area is A = π × %s² ≈ %s and the circumference C = 2 × π × %s ≈ %s.", pre, fmtNum(r), fmtNum(area), fmtNum(r), fmtNum(2*math.Pi*r))
}

var percentRE = regexp.MustCompile(`(\d+(?:\.\d+)?)\s*%|百分之\s*(\d+(?:\.\d+)?)`)

func computePercent(low string, nums []float64, zh bool) string {
	m := percentRE.FindStringSubmatch(low)
	if m == nil || len(nums) != 2 {
		return ""
	}
	ps := m[1] + m[2]
	p, err := strconv.ParseFloat(ps, 64)
	if err != nil {
		return ""
	}
	base := nums[0]
	if base == p {
		base = nums[1]
	}
	v := p * base / 100
	if zh {
		return fmt.Sprintf("代入你的数据：%s 的 %s%% 是 %s × %s ÷ 100 = %s。", fmtNum(base), fmtNum(p), fmtNum(base), fmtNum(p), fmtNum(v))
	}
	return fmt.Sprintf("With your numbers: %s%% of %s is %s × %s ÷ 100 = %s.", fmtNum(p), fmtNum(base), fmtNum(base), fmtNum(p), fmtNum(v))
}

func computePrime(_ string, nums []float64, zh bool) string {
	if len(nums) != 1 || nums[0] != math.Trunc(nums[0]) || nums[0] > 1e12 {
		return ""
	}
	n := int64(nums[0])
	if n < 2 {
		if zh {
			return fmt.Sprintf("%d 既不是质数也不是合数，因为质数必须大于 1。", n)
		}
		return fmt.Sprintf("%d is neither prime nor composite, because primes must be greater than 1.", n)
	}
	var factors []string
	m := n
	for p := int64(2); p*p <= m; p++ {
		for m%p == 0 {
			factors = append(factors, strconv.FormatInt(p, 10))
			m /= p
		}
	}
	if m > 1 {
		factors = append(factors, strconv.FormatInt(m, 10))
	}
	if len(factors) == 1 {
		if zh {
			return fmt.Sprintf("%d 是质数：用不超过 √%d 的质数去试除，都除不尽。", n, n)
		}
		return fmt.Sprintf("%d is prime: none of the primes up to √%d divides it.", n, n)
	}
	if zh {
		return fmt.Sprintf("%d 不是质数，它是合数：%d = %s。", n, n, strings.Join(factors, " × "))
	}
	return fmt.Sprintf("%d is not prime, it is composite: %d = %s.", n, n, strings.Join(factors, " × "))
}

func computeAverage(_ string, nums []float64, zh bool) string {
	if len(nums) < 2 {
		return ""
	}
	sum := 0.0
	s := make([]string, len(nums))
	for i, n := range nums {
		sum += n
		s[i] = fmtNum(n)
	}
	mean := sum / float64(len(nums))
	if zh {
		return fmt.Sprintf("代入你的数据：平均数 = (%s) ÷ %d = %s ÷ %d = %s。", strings.Join(s, " + "), len(nums), fmtNum(sum), len(nums), fmtNum(mean))
	}
	return fmt.Sprintf("With your numbers: mean = (%s) ÷ %d = %s ÷ %d = %s.", strings.Join(s, " + "), len(nums), fmtNum(sum), len(nums), fmtNum(mean))
}

// ---- equations and arithmetic ----

// maxExprLen bounds the expressions the tutor parses.
const maxExprLen = 200

// answerEquation solves a linear or quadratic equation in one variable
// written in q, such as "solve 2x+3=7" or "解方程 3x - 4 = 11".
func answerEquation(q string, zh bool) (string, bool) {
	eq, ok := findEquation(q)
	if !ok {
		return "", false
	}
	sol, err := solveEquation(eq)
	if err != nil {
		return "", false
	}
	return explainSolution(sol, zh), true
}

// findEquation extracts "lhs = rhs" around the only '=' of q whose sides
// are made of numbers, one single-letter variable and operators.
func findEquation(q string) (string, bool) {
	rs := []rune(q)
	eqAt := -1
	for i, r := range rs {
		if r == '=' {
			if eqAt >= 0 {
				return "", false // more than one '=': a chain, not an equation
			}
			eqAt = i
		}
	}
	if eqAt < 0 {
		return "", false
	}
	lo := eqAt
	for lo > 0 && mathRune(rs, lo-1) {
		lo--
	}
	hi := eqAt + 1
	for hi < len(rs) && mathRune(rs, hi) {
		hi++
	}
	eq := strings.TrimSpace(string(rs[lo:hi]))
	eq = strings.TrimRight(eq, ". ")
	if len(eq) > maxExprLen || !strings.ContainsAny(eq, "0123456789") {
		return "", false
	}
	return eq, true
}

// mathRune reports whether rs[i] can be part of an equation: digits,
// operators, brackets, spaces and isolated letters (the variable).
func mathRune(rs []rune, i int) bool {
	r := rs[i]
	switch {
	case r >= '0' && r <= '9', strings.ContainsRune(" .+-*/^()×÷·²", r):
		return true
	case r < 128 && unicode.IsLetter(r):
		prevLetter := i > 0 && rs[i-1] < 128 && unicode.IsLetter(rs[i-1])
		nextLetter := i+1 < len(rs) && rs[i+1] < 128 && unicode.IsLetter(rs[i+1])
		return !prevLetter && !nextLetter
	}
	return false
}

// solution is a solved equation.
type solution struct {
	eq  string // as written, spaces normalized
	v   string // the variable
	lhs *poly  // the left side minus the right side, = 0
	deg int
	// check: both sides evaluated at the (linear) root
	checkL, checkR string
	root           []string // exact or approximate roots, formatted
	// linear: a·x = b after collecting terms
	a, b *big.Rat
	// quadratic: discriminant
	disc   *big.Rat
	approx bool // the roots are rounded
	none   bool // no solution
	all    bool // every number is a solution
}

func solveEquation(eq string) (*solution, error) {
	sides := strings.Split(eq, "=")
	if len(sides) != 2 || strings.TrimSpace(sides[0]) == "" || strings.TrimSpace(sides[1]) == "" {
		return nil, errNotEquation
	}
	var p parser
	l, err := p.parseSide(sides[0])
	if err != nil {
		return nil, err
	}
	r, err := p.parseSide(sides[1])
	if err != nil {
		return nil, err
	}
	if p.variable == 0 {
		return nil, errNotEquation
	}
	d := l.sub(r)
	sol := &solution{eq: strings.Join(strings.Fields(eq), " "), v: string(p.variable), lhs: d, deg: d.degree()}
	switch sol.deg {
	case 0:
		if d.c[0].Sign() == 0 {
			sol.all = true
		} else {
			sol.none = true
		}
	case 1:
		// c1·x + c0 = 0 → x = −c0 / c1
		sol.a = new(big.Rat).Set(&d.c[1])
		sol.b = new(big.Rat).Neg(&d.c[0])
		x := new(big.Rat).Quo(sol.b, sol.a)
		sol.root = []string{fmtRat(x)}
		sol.checkL, sol.checkR = fmtRat(l.eval(x)), fmtRat(r.eval(x))
	case 2:
		a, b, c := &d.c[2], &d.c[1], &d.c[0]
		disc := new(big.Rat).Mul(b, b)
		disc.Sub(disc, new(big.Rat).Mul(big.NewRat(4, 1), new(big.Rat).Mul(a, c)))
		sol.disc = disc
		twoA := new(big.Rat).Mul(big.NewRat(2, 1), a)
		switch disc.Sign() {
		case 0:
			sol.root = []string{fmtRat(new(big.Rat).Quo(new(big.Rat).Neg(b), twoA))}
		case 1:
			if sq, ok := ratSqrt(disc); ok {
				r1 := new(big.Rat).Quo(new(big.Rat).Add(new(big.Rat).Neg(b), sq), twoA)
				r2 := new(big.Rat).Quo(new(big.Rat).Sub(new(big.Rat).Neg(b), sq), twoA)
				if r1.Cmp(r2) > 0 {
					r1, r2 = r2, r1
				}
				sol.root = []string{fmtRat(r1), fmtRat(r2)}
			} else {
				af, _ := a.Float64()
				bf, _ := b.Float64()
				df, _ := disc.Float64()
				s := math.Sqrt(df)
				r1, r2 := (-bf-s)/(2*af), (-bf+s)/(2*af)
				if r1 > r2 {
					r1, r2 = r2, r1
				}
				sol.root = []string{fmtNum(r1), fmtNum(r2)}
				sol.approx = true
			}
		default:
			sol.none = true
		}
	default:
		return nil, errNotEquation
	}
	return sol, nil
}

// rel is "=" for exact roots, "≈" for rounded ones.
func (s *solution) rel() string {
	if s.approx {
		return "≈"
	}
	return "="
}

// explainSolution writes the worked solution.
func explainSolution(s *solution, zh bool) string {
	var b strings.Builder
	x := s.v
	switch {
	case s.deg == 1 && zh:
		fmt.Fprintf(&b, "我们一步一步来解方程 %s。\n", s.eq)
		fmt.Fprintf(&b, "1. 移项：把含 %s 的项移到等号左边，常数项移到等号右边（移项要变号），合并同类项得 %s%s = %s。\n", x, fmtCoef(s.a), x, fmtRat(s.b))
		if s.a.Cmp(big.NewRat(1, 1)) == 0 {
			fmt.Fprintf(&b, "2. %s 的系数已经是 1，所以 %s = %s。\n", x, x, s.root[0])
		} else {
			fmt.Fprintf(&b, "2. 系数化为 1：两边同时除以 %s，得 %s = %s ÷ %s = %s。\n", fmtRat(s.a), x, fmtRat(s.b), fmtRat(s.a), s.root[0])
		}
		fmt.Fprintf(&b, "3. 检验：把 %s = %s 代入原方程，左边 = %s，右边 = %s，左右相等，所以解正确。\n", x, s.root[0], s.checkL, s.checkR)
		fmt.Fprintf(&b, "答：%s = %s。\n\n", x, s.root[0])
		b.WriteString("小提示：解一元一次方程的步骤是去分母、去括号、移项、合并同类项、系数化为 1，每一步都要保持等式两边相等。你能自己再解一道类似的题吗？比如 5x − 2 = 13。")
	case s.deg == 1:
		fmt.Fprintf(&b, "Let's solve %s step by step.\n", s.eq)
		fmt.Fprintf(&b, "1. Collect the %s terms on the left and the numbers on the right (a term changes sign when it crosses the equals sign): %s%s = %s.\n", x, fmtCoef(s.a), x, fmtRat(s.b))
		if s.a.Cmp(big.NewRat(1, 1)) == 0 {
			fmt.Fprintf(&b, "2. The coefficient of %s is already 1, so %s = %s.\n", x, x, s.root[0])
		} else {
			fmt.Fprintf(&b, "2. Divide both sides by %s: %s = %s ÷ %s = %s.\n", fmtRat(s.a), x, fmtRat(s.b), fmtRat(s.a), s.root[0])
		}
		fmt.Fprintf(&b, "3. Check: substitute %s = %s back into the original equation: the left side is %s and the right side is %s, so the answer is right.\n", x, s.root[0], s.checkL, s.checkR)
		fmt.Fprintf(&b, "So %s = %s.\n\n", x, s.root[0])
		b.WriteString("Tip: whatever you do to one side of an equation, do the same to the other side, and always check by substituting. Can you solve a similar one on your own, for example 5x - 2 = 13?")
	case s.deg == 2 && zh:
		fmt.Fprintf(&b, "我们来解一元二次方程 %s。\n", s.eq)
		fmt.Fprintf(&b, "1. 整理成一般形式：%s = 0。\n", s.lhs.format(x))
		fmt.Fprintf(&b, "2. 计算判别式：Δ = b² − 4ac = %s。\n", fmtRat(s.disc))
		switch {
		case s.none:
			b.WriteString("3. 因为 Δ < 0，所以这个方程没有实数根。\n")
		case len(s.root) == 1:
			fmt.Fprintf(&b, "3. 因为 Δ = 0，方程有两个相等的实数根：%s₁ = %s₂ = %s。\n", x, x, s.root[0])
		default:
			fmt.Fprintf(&b, "3. 因为 Δ > 0，方程有两个不相等的实数根，用求根公式 x = (−b ± √Δ) ÷ 2a 得：%s₁ %s %s，%s₂ %s %s。\n", x, s.rel(), s.root[0], x, s.rel(), s.root[1])
		}
		b.WriteString("\n小提示：如果能因式分解，用因式分解法往往更快；解完后记得把根代回原方程检验。你能用另一种方法再解一遍吗？")
	case s.deg == 2:
		fmt.Fprintf(&b, "Let's solve the quadratic equation %s.\n", s.eq)
		fmt.Fprintf(&b, "1. Bring it to the standard form: %s = 0.\n", s.lhs.format(x))
		fmt.Fprintf(&b, "2. Compute the discriminant: Δ = b² − 4ac = %s.\n", fmtRat(s.disc))
		switch {
		case s.none:
			b.WriteString("3. Since Δ < 0, the equation has no real solutions.\n")
		case len(s.root) == 1:
			fmt.Fprintf(&b, "3. Since Δ = 0, there is exactly one (double) solution: %s = %s.\n", x, s.root[0])
		default:
			fmt.Fprintf(&b, "3. Since Δ > 0, there are two solutions. With the quadratic formula x = (−b ± √Δ) ÷ 2a: %s %s %s or %s %s %s.\n", x, s.rel(), s.root[0], x, s.rel(), s.root[1])
		}
		b.WriteString("\nTip: when the equation factorises nicely, factorising is often faster than the formula, and you should always check your roots by substituting them back. Can you solve it a second way?")
	case zh:
		fmt.Fprintf(&b, "我们来看方程 %s。把含 %s 的项移到一边、常数项移到另一边后，%s 的系数变成了 0。\n", s.eq, x, x)
		if s.all {
			fmt.Fprintf(&b, "两边完全相同（0 = 0），所以任何数都是这个方程的解，它是一个恒等式。")
		} else {
			fmt.Fprintf(&b, "得到的是一个不成立的等式（%s = 0），所以这个方程无解。", s.lhs.format(x))
		}
		b.WriteString("\n\n小提示：遇到这种情况，先检查题目有没有抄错，再想一想：什么样的一次方程会无解或有无数个解？")
	default:
		fmt.Fprintf(&b, "Let's look at %s. After moving the %s terms to one side and the numbers to the other, the coefficient of %s is 0.\n", s.eq, x, x)
		if s.all {
			b.WriteString("Both sides are identical (0 = 0), so every number is a solution: the equation is an identity.")
		} else {
			fmt.Fprintf(&b, "What remains is a false statement (%s = 0), so the equation has no solution.", s.lhs.format(x))
		}
		b.WriteString("\n\nTip: when this happens, first check that the equation was copied correctly, then ask yourself: what kind of linear equation has no solution, or infinitely many?")
	}
	return b.String()
}

// answerArithmetic computes an arithmetic expression written in q, such as
// "what is 12*7", "12 times 7" or "12乘7等于多少".
func answerArithmetic(low string, zh bool) (string, bool) {
	expr, ok := findArithmetic(low)
	if !ok {
		return "", false
	}
	var p parser
	p.noVariable = true
	v, err := p.parseSide(expr)
	if err != nil || v.degree() != 0 {
		return "", false
	}
	shown := strings.Join(strings.Fields(prettyOps(expr)), " ")
	res := fmtRat(&v.c[0])
	var b strings.Builder
	if zh {
		fmt.Fprintf(&b, "%s = %s。\n\n", shown, res)
		b.WriteString("计算方法：先算括号里的，再算乘除，最后算加减；同一级运算从左往右依次计算。")
		if explain := arithmeticHint(expr, zh); explain != "" {
			b.WriteString(explain)
		}
		b.WriteString("\n算完以后可以用逆运算检验一下，比如用乘法检验除法、用减法检验加法。你能自己再出一道类似的题算一算吗？")
	} else {
		fmt.Fprintf(&b, "%s = %s.\n\n", shown, res)
		b.WriteString("How to get there: work out brackets first, then multiplication and division, then addition and subtraction, each from left to right.")
		if explain := arithmeticHint(expr, zh); explain != "" {
			b.WriteString(explain)
		}
		b.WriteString("\nYou can check the result with the inverse operation — multiplication checks a division, subtraction checks an addition. Can you make up a similar problem and solve it yourself?")
	}
	return b.String(), true
}

// arithmeticHint explains a two-operand product of a two-digit number by
// splitting it into tens and units, the way mental arithmetic is taught.
var productRE = regexp.MustCompile(`^\s*(\d{2})\s*[*×]\s*(\d{1,2})\s*$`)

func arithmeticHint(expr string, zh bool) string {
	m := productRE.FindStringSubmatch(expr)
	if m == nil {
		return ""
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	tens, units := a/10*10, a%10
	if units == 0 {
		return ""
	}
	if zh {
		return fmt.Sprintf(" 口算时可以把 %d 拆成 %d + %d：%d × %d = %d × %d + %d × %d = %d + %d = %d。", a, tens, units, a, b, tens, b, units, b, tens*b, units*b, a*b)
	}
	return fmt.Sprintf(" In your head, split %d into %d + %d: %d × %d = %d × %d + %d × %d = %d + %d = %d.", a, tens, units, a, b, tens, b, units, b, tens*b, units*b, a*b)
}

var opWords = strings.NewReplacer(
	" multiplied by ", " * ", " times ", " * ", " divided by ", " / ", " plus ", " + ", " minus ", " - ",
	"乘以", "*", "除以", " / ", "加上", "+", "减去", "-", "乘", "*", "加", "+", "减", "-",
	"×", "*", "÷", " / ", "·", "*",
)

var arithRE = regexp.MustCompile(`[0-9.()\s]*\d[0-9.()\s]*(?:[-+*/^][0-9.()\s]*\d[0-9.()\s]*)+`)

// findArithmetic returns the longest purely numeric expression of q with
// at least one binary operator.
func findArithmetic(low string) (string, bool) {
	s := opWords.Replace(" " + low + " ")
	s = strings.ReplaceAll(s, " x ", " * ") // "12 x 7"
	best := ""
	for _, m := range arithRE.FindAllString(s, -1) {
		m = strings.TrimSpace(m)
		if len(m) > len(best) {
			best = m
		}
	}
	best = strings.TrimRight(best, ". ")
	if best == "" || len(best) > maxExprLen {
		return "", false
	}
	return best, true
}

func prettyOps(expr string) string {
	// A spaced slash is a division, "1/2" a fraction and stays as written.
	expr = strings.Join(strings.Fields(expr), " ")
	r := strings.NewReplacer("*", " × ", " / ", " ÷ ", "+", " + ", "-", " - ")
	return r.Replace(expr)
}

// ---- a small polynomial parser ----

// poly is a polynomial of degree at most 2 in the variable: c[0] + c[1]·x + c[2]·x².
type poly struct{ c [3]big.Rat }

func constPoly(r *big.Rat) *poly { p := new(poly); p.c[0].Set(r); return p }

func varPoly() *poly { p := new(poly); p.c[1].SetInt64(1); return p }

// eval returns p(x).
func (p *poly) eval(x *big.Rat) *big.Rat {
	x2 := new(big.Rat).Mul(x, x)
	v := new(big.Rat).Set(&p.c[0])
	v.Add(v, new(big.Rat).Mul(&p.c[1], x))
	return v.Add(v, new(big.Rat).Mul(&p.c[2], x2))
}

func (p *poly) degree() int {
	for i := 2; i > 0; i-- {
		if p.c[i].Sign() != 0 {
			return i
		}
	}
	return 0
}

func (p *poly) add(q *poly) *poly {
	r := new(poly)
	for i := range r.c {
		r.c[i].Add(&p.c[i], &q.c[i])
	}
	return r
}

func (p *poly) sub(q *poly) *poly {
	r := new(poly)
	for i := range r.c {
		r.c[i].Sub(&p.c[i], &q.c[i])
	}
	return r
}

func (p *poly) neg() *poly {
	r := new(poly)
	for i := range r.c {
		r.c[i].Neg(&p.c[i])
	}
	return r
}

func (p *poly) mul(q *poly) (*poly, error) {
	if p.degree()+q.degree() > 2 {
		return nil, errDegree
	}
	r := new(poly)
	var t big.Rat
	for i := 0; i <= 2; i++ {
		for j := 0; i+j <= 2; j++ {
			t.Mul(&p.c[i], &q.c[j])
			r.c[i+j].Add(&r.c[i+j], &t)
		}
	}
	for i := range r.c {
		if r.c[i].Num().BitLen()+r.c[i].Denom().BitLen() > maxBits {
			return nil, errTooLarge
		}
	}
	return r, nil
}

func (p *poly) div(q *poly) (*poly, error) {
	if q.degree() != 0 {
		return nil, errDegree
	}
	if q.c[0].Sign() == 0 {
		return nil, errDivZero
	}
	r := new(poly)
	for i := range r.c {
		r.c[i].Quo(&p.c[i], &q.c[0])
	}
	return r, nil
}

// format writes p as "2x² - 5x + 6".
func (p *poly) format(v string) string {
	var b strings.Builder
	for i := 2; i >= 0; i-- {
		c := &p.c[i]
		if c.Sign() == 0 && !(i == 0 && b.Len() == 0) {
			continue
		}
		abs := new(big.Rat).Abs(c)
		switch {
		case b.Len() == 0 && c.Sign() < 0:
			b.WriteString("-")
		case b.Len() > 0 && c.Sign() < 0:
			b.WriteString(" - ")
		case b.Len() > 0:
			b.WriteString(" + ")
		}
		switch i {
		case 0:
			b.WriteString(fmtRat(abs))
		case 1:
			b.WriteString(fmtCoef(abs) + v)
		case 2:
			b.WriteString(fmtCoef(abs) + v + "²")
		}
	}
	return b.String()
}

type tutorError string

func (e tutorError) Error() string { return string(e) }

const (
	errNotEquation = tutorError("not an equation")
	errDegree      = tutorError("degree above 2")
	errDivZero     = tutorError("division by zero")
	errSyntax      = tutorError("syntax error")
	errTooLarge    = tutorError("number too large")
)

// maxBits bounds the size of the exact numbers the parser computes with.
const maxBits = 4096

// parser parses one side of an equation:
//
//	expr  = term { ("+" | "-") term }
//	term  = unary { ("*" | "/" | implicit) unary }
//	unary = ("+" | "-") unary | power
//	power = atom [ "^" digits | "²" | "³" ]
//	atom  = number | variable | "(" expr ")"
type parser struct {
	in         []rune
	pos        int
	depth      int
	variable   rune // the variable seen so far, 0 if none
	noVariable bool // reject variables (arithmetic)
}

func (p *parser) parseSide(s string) (*poly, error) {
	p.in = []rune(s)
	p.pos = 0
	p.depth = 0
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.skip()
	if p.pos != len(p.in) {
		return nil, errSyntax
	}
	return e, nil
}

func (p *parser) skip() {
	for p.pos < len(p.in) && unicode.IsSpace(p.in[p.pos]) {
		p.pos++
	}
}

func (p *parser) peek() rune {
	p.skip()
	if p.pos >= len(p.in) {
		return 0
	}
	switch r := p.in[p.pos]; r {
	case '×', '·':
		return '*'
	case '÷':
		return '/'
	default:
		return r
	}
}

func (p *parser) expr() (*poly, error) {
	l, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		switch p.peek() {
		case '+':
			p.pos++
			r, err := p.term()
			if err != nil {
				return nil, err
			}
			l = l.add(r)
		case '-':
			p.pos++
			r, err := p.term()
			if err != nil {
				return nil, err
			}
			l = l.sub(r)
		default:
			return l, nil
		}
	}
}

func (p *parser) term() (*poly, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		c := p.peek()
		switch {
		case c == '*':
			p.pos++
			r, err := p.unary()
			if err != nil {
				return nil, err
			}
			if l, err = l.mul(r); err != nil {
				return nil, err
			}
		case c == '/':
			p.pos++
			r, err := p.unary()
			if err != nil {
				return nil, err
			}
			if l, err = l.div(r); err != nil {
				return nil, err
			}
		case c == '(' || (c < 128 && unicode.IsLetter(c)):
			// implicit multiplication: 2x, 2(x+1), (x+1)(x-1)
			r, err := p.power()
			if err != nil {
				return nil, err
			}
			if l, err = l.mul(r); err != nil {
				return nil, err
			}
		default:
			return l, nil
		}
	}
}

func (p *parser) unary() (*poly, error) {
	switch p.peek() {
	case '-':
		p.pos++
		if p.depth++; p.depth > 50 {
			return nil, errSyntax
		}
		v, err := p.unary()
		p.depth--
		if err != nil {
			return nil, err
		}
		return v.neg(), nil
	case '+':
		p.pos++
		if p.depth++; p.depth > 50 {
			return nil, errSyntax
		}
		v, err := p.unary()
		p.depth--
		return v, err
	}
	return p.power()
}

func (p *parser) power() (*poly, error) {
	base, err := p.atom()
	if err != nil {
		return nil, err
	}
	exp := 1
	switch p.peek() {
	case '²':
		p.pos++
		exp = 2
	case '³':
		p.pos++
		exp = 3
	case '^':
		p.pos++
		c := p.peek()
		if c < '0' || c > '9' {
			return nil, errSyntax
		}
		p.pos++
		exp = int(c - '0')
		if p.pos < len(p.in) && p.in[p.pos] >= '0' && p.in[p.pos] <= '9' {
			exp = 10*exp + int(p.in[p.pos]-'0')
			p.pos++
		}
		if p.pos < len(p.in) && p.in[p.pos] >= '0' && p.in[p.pos] <= '9' {
			return nil, errDegree // exponents above 99 are out of scope
		}
	default:
		return base, nil
	}
	if exp > 3 && base.degree() > 0 {
		return nil, errDegree
	}
	r := constPoly(big.NewRat(1, 1))
	for range exp {
		if r, err = r.mul(base); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (p *parser) atom() (*poly, error) {
	c := p.peek()
	switch {
	case c == '(':
		p.pos++
		if p.depth++; p.depth > 50 {
			return nil, errSyntax
		}
		e, err := p.expr()
		p.depth--
		if err != nil {
			return nil, err
		}
		if p.peek() != ')' {
			return nil, errSyntax
		}
		p.pos++
		return e, nil
	case c >= '0' && c <= '9' || c == '.':
		start := p.pos
		for p.pos < len(p.in) && (p.in[p.pos] >= '0' && p.in[p.pos] <= '9' || p.in[p.pos] == '.') {
			p.pos++
		}
		lit := string(p.in[start:p.pos])
		if len(lit) > 30 {
			return nil, errSyntax
		}
		r, ok := new(big.Rat).SetString(lit)
		if !ok {
			return nil, errSyntax
		}
		return constPoly(r), nil
	case c < 128 && unicode.IsLetter(c):
		if p.noVariable {
			return nil, errSyntax
		}
		v := unicode.ToLower(c)
		if p.variable != 0 && p.variable != v {
			return nil, errSyntax // two variables
		}
		p.variable = v
		p.pos++
		return varPoly(), nil
	}
	return nil, errSyntax
}

// ratSqrt returns the square root of r when it is rational.
func ratSqrt(r *big.Rat) (*big.Rat, bool) {
	if r.Sign() < 0 {
		return nil, false
	}
	n, d := new(big.Int).Sqrt(r.Num()), new(big.Int).Sqrt(r.Denom())
	if new(big.Int).Mul(n, n).Cmp(r.Num()) != 0 || new(big.Int).Mul(d, d).Cmp(r.Denom()) != 0 {
		return nil, false
	}
	return new(big.Rat).SetFrac(n, d), true
}

// fmtRat formats an exact value: "2", "-3", "4/3 (≈ 1.3333)", "2.5".
func fmtRat(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	// A terminating decimal with few digits reads better: 2.5, 0.125.
	if exactDecimal(r, 6) {
		return strings.TrimSuffix(strings.TrimRight(r.FloatString(6), "0"), ".")
	}
	f, _ := r.Float64()
	return r.RatString() + " (≈ " + fmtNum(f) + ")"
}

// exactDecimal reports whether r has at most digits decimal places.
func exactDecimal(r *big.Rat, digits int) bool {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil)
	t := new(big.Rat).Mul(r, new(big.Rat).SetInt(scale))
	return t.IsInt()
}

// fmtCoef formats a coefficient in front of a variable: "" for 1, "-" for
// −1, else the number.
func fmtCoef(r *big.Rat) string {
	switch {
	case r.Cmp(big.NewRat(1, 1)) == 0:
		return ""
	case r.Cmp(big.NewRat(-1, 1)) == 0:
		return "-"
	case r.IsInt():
		return r.Num().String()
	case exactDecimal(r, 6):
		return fmtRat(r)
	}
	return "(" + r.RatString() + ")"
}
