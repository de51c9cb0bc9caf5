package name

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Generate returns n synthetic but realistic watch-list entries with IDs
// 1..n: people of many origins (Arabic, Russian and Ukrainian, Chinese,
// Korean, Persian, Turkish, South Asian, African, European, Latin
// American), some written in their own script (Cyrillic, Arabic, Han,
// Hangul, Greek), with aliases that vary spelling and order, partial or
// full birth dates, nationalities and sex; and companies with legal forms
// of many countries. Given names follow a steep frequency curve and
// surnames are built from syllables, so token statistics look like a real
// list: a few very common tokens and a long tail. The same rng state gives
// the same entries.
func Generate(rng *rand.Rand, n int) []Entry {
	out := make([]Entry, 0, n)
	os := origins()
	for i := 0; i < n; i++ {
		id := uint32(i + 1)
		if rng.IntN(100) < 30 {
			out = append(out, genCompany(rng, id))
		} else {
			out = append(out, genPerson(rng, id, os))
		}
	}
	return out
}

// origin is a naming culture: given-name pools (male, female), surname
// syllables, optional fixed surnames, native-script pools and the
// nationalities it is found in.
type origin struct {
	male, female []string
	sylA, sylB   []string // surname = sylA + sylB (+ suffix)
	suffix       []string
	surnames     []string
	nats         []string
	layout       func(rng *rand.Rand, o *origin, given, surname string, male bool) string
	script       func(rng *rand.Rand, male bool) string // a native-script name, or nil
}

func plain(_ *rand.Rand, _ *origin, given, surname string, _ bool) string {
	return given + " " + surname
}

func arabicLayout(rng *rand.Rand, o *origin, given, surname string, male bool) string {
	father := pick(rng, o.male)
	switch rng.IntN(4) {
	case 0:
		return given + " " + father + " " + surname
	case 1:
		return given + " bin " + father + " al-" + surname
	case 2:
		return given + " " + father + " " + pick(rng, o.male) + " " + surname
	}
	return given + " al-" + surname
}

func slavicLayout(rng *rand.Rand, o *origin, given, surname string, male bool) string {
	f := pick(rng, o.male)
	if male {
		return given + " " + f + "ovich " + surname
	}
	return given + " " + f + "ovna " + surname + "a"
}

func sinoLayout(rng *rand.Rand, o *origin, given, surname string, _ bool) string {
	g := pick(rng, o.sylA)
	if rng.IntN(3) > 0 {
		g += strings.ToLower(pick(rng, o.sylA))
	}
	return pick(rng, o.surnames) + " " + g
}

var (
	hanSurnames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗", "郑"}
	hanGiven    = []string{"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀", "霞", "平", "刚", "华", "建", "国", "文", "辉", "鹏", "宇", "浩", "凯", "峰"}
	hangulSur   = []string{"김", "이", "박", "최", "정", "강", "조", "윤", "장", "임"}
	hangulGiven = []string{"민", "서", "지", "현", "준", "영", "수", "우", "진", "호", "성", "은", "혜", "동", "철", "광", "명", "훈"}
	cyrMale     = []string{"Александр", "Сергей", "Владимир", "Дмитрий", "Андрей", "Алексей", "Николай", "Игорь", "Михаил", "Юрий", "Олег", "Виктор", "Евгений", "Павел", "Иван"}
	cyrFemale   = []string{"Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Анна", "Светлана", "Мария", "Екатерина", "Юлия"}
	cyrSylA     = []string{"Ив", "Петр", "Смирн", "Кузнец", "Попо", "Волк", "Соколо", "Лебед", "Козл", "Новик", "Мороз", "Егор", "Павл", "Семён", "Голуб", "Виногр", "Богд", "Воробь", "Федор", "Медвед", "Ершо", "Никит", "Сорок", "Бел", "Тарас", "Гриш"}
	cyrSylB     = []string{"ов", "ев", "ин", "енко", "ский", "ович", "ук", "як", "ан", "ёв"}
	arMale      = []string{"محمد", "أحمد", "علي", "عمر", "خالد", "يوسف", "إبراهيم", "حسن", "حسين", "عبد الله", "مصطفى", "سعيد"}
	arSur       = []string{"الحسن", "العلي", "الأحمد", "الخطيب", "النجار", "الحداد", "الشامي", "المصري", "البغدادي", "القاسم", "التميمي", "الزهراني"}
	greekMale   = []string{"Γεώργιος", "Δημήτριος", "Κωνσταντίνος", "Ιωάννης", "Νικόλαος", "Παναγιώτης"}
	greekSur    = []string{"Παπαδόπουλος", "Νικολάου", "Γεωργίου", "Οικονόμου", "Καραγιάννης", "Βασιλείου", "Αλεξίου"}
)

func origins() []origin {
	return []origin{
		{ // Arabic
			male:   words("Mohammed Muhammad Mohamed Ahmed Ahmad Ali Omar Umar Khalid Yusuf Youssef Ibrahim Hassan Hussein Husain Abdullah Abdallah Mustafa Mahmoud Said Saeed Tariq Hamza Karim Rashid Nasser Jamal Faisal Walid Samir Adel Fahd Majid Nabil Ziad Bilal Amir Anas Osama Usama Yasser Hamid Marwan Sami Hisham Imad Jihad Salim Qasim Mansour Sultan Talal Waleed Zakaria Idris Ismail Ayman Badr Fadi Ghassan Haitham Jawad Kamal Louay Munir Nizar Rami Tamer Wael Yahya Zaher Abdulrahman Abdulaziz Abdelkader Abdelhamid"),
			female: words("Fatima Aisha Maryam Zainab Khadija Nour Layla Huda Amal Rania Samira Salma Yasmin Hanan Dalia Iman Lubna Noura Reem Sara Widad"),
			sylA:   words("Had Tam Zah Qur Shar Nak Kh Bar Har Jaz Mas Sab Ras Dab Far Ghan Haj Jab Kab Lah Mar Nab Qah Rab Sal Tah Wah Yas Zub Bash Dar Hash Kar Mut Naj Sham Tak Zay Ans Ayy"),
			sylB:   words("ani ari ir ul awi idi ash ouni imi azi ab id ad an at ahi ouri ubi"),
			nats:   words("SA EG IQ SY JO LB YE AE MA DZ TN LY SD KW QA OM BH PS"),
			layout: arabicLayout,
			script: func(rng *rand.Rand, _ bool) string {
				return pick(rng, arMale) + " " + pick(rng, arMale) + " " + pick(rng, arSur)
			},
		},
		{ // Russian and Ukrainian
			male:   words("Aleksandr Alexander Sergei Sergey Vladimir Dmitry Dmitri Andrei Andrey Alexei Nikolai Igor Mikhail Yuri Oleg Viktor Evgeny Yevgeny Pavel Ivan Maxim Roman Anatoly Boris Vadim Gennady Konstantin Leonid Stanislav Vitaly Vyacheslav Arkady Grigory Ruslan Timur Denis Artem Kirill Volodymyr Oleksandr Mykola Serhiy Andriy Taras Bohdan"),
			female: words("Elena Olga Natalia Tatiana Irina Anna Svetlana Maria Ekaterina Yulia Marina Galina Lyudmila Valentina Oksana Larisa Nadezhda Kateryna Olena"),
			sylA:   words("Iv Petr Smirn Kuznets Pop Volk Sokol Lebed Kozl Novik Moroz Egor Pavl Semen Golub Vinogr Bogd Vorobi Fedor Medved Ersh Nikit Sorok Bel Taras Grish Zakhar Kovalen Shevch Bondar Tkach Kravch Oliyn Moskal Rudn Zhuk Lys Karp Dub Zaits Orl Gus Baran Kisel Lapt Makar Rom Frol Shchuk"),
			sylB:   words("ov ev in enko sky ovich uk yak an ovsky ko chuk"),
			nats:   words("RU UA BY KZ KG MD AM GE"),
			layout: slavicLayout,
			script: func(rng *rand.Rand, male bool) string {
				s := pick(rng, cyrSylA) + pick(rng, cyrSylB)
				if male {
					return pick(rng, cyrMale) + " " + s
				}
				return pick(rng, cyrFemale) + " " + s
			},
		},
		{ // Chinese
			sylA:     words("Wei Fang Na Min Jing Li Qiang Lei Jun Yang Yong Yan Jie Tao Ming Chao Xiu Xia Ping Gang Hua Jian Guo Wen Hui Peng Yu Hao Kai Feng Xin Lin Bo Hong Zhi Qing Mei Ying Long Bin Dong Hai Lan Rui Shan Tian Xue Zhen"),
			surnames: words("Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Luo Zheng Liang Xie Song Tang Han Feng Deng Cao Peng Zeng Xiao Tian Dong Pan Yuan Cai Jiang Yu Du Ye Cheng Wei Su Lu Ding Ren Shen Yao"),
			nats:     words("CN TW HK SG MY"),
			layout:   sinoLayout,
			male:     words("Wei"), female: words("Fang"),
			script: func(rng *rand.Rand, _ bool) string {
				s := pick(rng, hanSurnames) + pick(rng, hanGiven)
				if rng.IntN(3) > 0 {
					s += pick(rng, hanGiven)
				}
				return s
			},
		},
		{ // Korean
			sylA:     words("Min Seo Ji Hyun Jun Young Su Woo Jin Ho Sung Eun Hye Dong Chol Kwang Myong Hun Song Il Nam Hyok Chang"),
			surnames: words("Kim Lee Park Choi Jung Kang Cho Yoon Jang Lim Ri Pak Han Shin"),
			nats:     words("KR KP"),
			layout: func(rng *rand.Rand, o *origin, _, _ string, _ bool) string {
				return pick(rng, o.surnames) + " " + pick(rng, o.sylA) + " " + pick(rng, o.sylA)
			},
			male: words("Min"), female: words("Seo"),
			script: func(rng *rand.Rand, _ bool) string {
				return pick(rng, hangulSur) + pick(rng, hangulGiven) + pick(rng, hangulGiven)
			},
		},
		{ // Persian
			male:   words("Mohammad Ali Hossein Reza Mehdi Hassan Mahmoud Ahmad Javad Majid Saeed Amir Hamid Morteza Abbas Mostafa Masoud Behrouz Dariush Farhad Kourosh Parviz Siamak"),
			female: words("Fatemeh Zahra Maryam Leila Shirin Parisa Nasrin Mahnaz Roya"),
			sylA:   words("Rez Ahmad Hossein Moham Kar Jaf Rahim Kaz Mousav Sadegh Tehran Esfahan Shiraz Tabriz Ghorb Nouri Akbar Bagher Hashem Sham"),
			sylB:   words("i ai zadeh pour nejad ian far abadi"),
			nats:   words("IR AF TJ"),
			layout: plain,
		},
		{ // Turkish
			male:   words("Mehmet Mustafa Ahmet Ali Huseyin Hasan Ibrahim Ismail Osman Yusuf Murat Omer Ramazan Halil Suleyman Abdullah Mahmut Recep Kemal Emre Burak Serkan Tolga Cem"),
			female: words("Fatma Ayse Emine Hatice Zeynep Elif Meryem Sultan Hulya Ozlem"),
			sylA:   words("Yil Kay Demir Sahin Celik Yildiz Ozt Aydin Arsl Dogan Kilic Asl Cet Kara Koc Kurt Ozdem Sim Polat Erd Tas Akt Gul Bulut"),
			sylB:   words("maz ak urk iz an ay oglu er can soy tepe"),
			nats:   words("TR AZ CY"),
			layout: plain,
		},
		{ // South Asian
			male:   words("Muhammad Mohammed Ahmed Imran Ali Asif Tariq Farooq Rahul Amit Sanjay Vijay Rajesh Suresh Anil Sunil Ravi Arjun Vikram Manoj Deepak Harpreet Gurpreet Rakesh Abdul Irfan Zubair Naveed Shahid Kamran Bilal Faisal"),
			female: words("Priya Anjali Sunita Pooja Neha Kavita Ayesha Sana Nadia Shabnam Rukhsana"),
			sylA:   words("Sharm Verm Gupt Sing Kum Khan Qures Malik Chaudh Iqb Butt Hussa Raj Pat Nai Red Mehr Kap Agarw Jain Bhat Shah Siddiq Mirz Aw"),
			sylB:   words("a an i ia ani ar al ee"),
			nats:   words("PK IN BD LK NP AF"),
			layout: plain,
		},
		{ // African
			male:   words("Abdi Abdirahman Mohamed Hassan Ibrahim Yusuf Chukwuemeka Oluwaseun Emeka Kwame Kofi Kwabena Jean Pierre Joseph Emmanuel Moses Samuel Daniel Tendai Tafadzwa Sipho Thabo Amadou Moussa Mamadou Ousmane Ibrahima Boubacar"),
			female: words("Amina Halima Fatuma Ngozi Chiamaka Adaeze Akosua Ama Aminata Mariama Aissatou Thandiwe Nomvula"),
			sylA:   words("Okon Adeb Ogun Nwos Eze Mens Asan Bah Diall Traor Keit Coul Sang Mwang Kamau Ochi Njor Moyo Ndlov Dlam Tshab Warsam Farah Abdil Jam"),
			sylB:   words("kwu ayo de a ore e i ira we ara bo ini ule"),
			nats:   words("NG GH SO KE ET SN ML ZA ZW CD CI GN SD"),
			layout: plain,
		},
		{ // Western European and American
			male:   words("John James Robert Michael William David Richard Thomas Charles Daniel Paul Mark George Peter Hans Klaus Jurgen Stefan Wolfgang Pierre Jean Michel Philippe Francois Giuseppe Marco Luca Antonio Carlos Jose Juan Miguel Manuel Pedro Jan Piotr Krzysztof Tomasz Lars Erik Sven Anders"),
			female: words("Mary Patricia Jennifer Linda Elizabeth Susan Sarah Anna Maria Ursula Sabine Monika Marie Sophie Isabelle Giulia Francesca Carmen Ana Lucia Katarzyna Agnieszka Ingrid Astrid"),
			sylA:   words("Smith John Will Brown Jon Mill Dav Wils And Tayl Thom Whit Harr Mart Thomps Rob Clar Lew Walk Hall Schmi Schnei Fisch Web Meyer Wagn Beck Hoff Schulz Dub Mor Lefev Ross Ferr Bian Russ Gonz Rodr Fern Lop Mart Garc Kowal Nowak Wisn Lewand Anders Johans Nils Lind Berg"),
			sylB:   words("son s er ington ley man mann ard eau i ini ez ski ow strom berg ton"),
			nats:   words("US GB DE FR IT ES NL BE PL SE NO DK CH AT IE PT MX AR CO BR CL VE"),
			layout: plain,
		},
		{ // Greek
			male:   words("Georgios Dimitrios Konstantinos Ioannis Nikolaos Panagiotis Christos Vasileios Athanasios Evangelos"),
			female: words("Maria Eleni Aikaterini Vasiliki Sofia Angeliki Georgia"),
			sylA:   words("Papad Nikol Georgi Oikon Karagi Vasil Alex Makr Dimitr Konstant Ioann Christ Pappa"),
			sylB:   words("opoulos ou annis idis akis atos"),
			nats:   words("GR CY"),
			layout: plain,
			script: func(rng *rand.Rand, _ bool) string { return pick(rng, greekMale) + " " + pick(rng, greekSur) },
		},
		{ // Vietnamese
			male:     words("Van Duc Minh Quang Tuan Hung Dung Thanh Hai Long Nam Phong Son"),
			female:   words("Thi Lan Huong Mai Linh Hoa Ngoc Thu Trang"),
			surnames: words("Nguyen Tran Le Pham Hoang Huynh Phan Vu Vo Dang Bui Do Ho Ngo Duong Ly"),
			sylA:     words("Van Duc Minh Quang Tuan Hung Dung Thanh Hai Long Nam Phong Son Anh Binh Cuong"),
			nats:     words("VN"),
			layout: func(rng *rand.Rand, o *origin, given, _ string, _ bool) string {
				return pick(rng, o.surnames) + " " + given + " " + pick(rng, o.sylA)
			},
		},
	}
}

// originShare is the relative frequency of each origin above.
var originShare = [...]int{22, 16, 10, 4, 6, 6, 9, 8, 14, 2, 3}

func genPerson(rng *rand.Rand, id uint32, os []origin) Entry {
	total := 0
	for _, s := range originShare {
		total += s
	}
	r := rng.IntN(total)
	oi := 0
	for r >= originShare[oi] {
		r -= originShare[oi]
		oi++
	}
	o := &os[oi]
	male := rng.IntN(100) < 72
	pool := o.male
	if !male {
		pool = o.female
	}
	given := zipf(rng, pool)
	surname := ""
	if len(o.sylA) > 0 && len(o.sylB) > 0 {
		surname = zipf(rng, o.sylA)
		if rng.IntN(2) == 0 {
			surname += strings.ToLower(pick(rng, o.sylA))
		}
		surname += pick(rng, o.sylB)
	}
	var primary string
	if o.script != nil && rng.IntN(100) < 20 {
		primary = o.script(rng, male)
	} else {
		primary = o.layout(rng, o, given, surname, male)
	}
	names := []string{primary}
	for k := rng.IntN(4); k > 0; k-- {
		names = append(names, aliasOf(rng, primary))
	}
	e := Entry{ID: id, Kind: KindPerson, Names: names, Nationalities: []string{pick(rng, o.nats)}}
	if male {
		e.Sex = "M"
	} else {
		e.Sex = "F"
	}
	y := 1940 + rng.IntN(65)
	switch p := rng.IntN(10); {
	case p < 6:
		e.BirthDate = fmt.Sprintf("%04d-%02d-%02d", y, 1+rng.IntN(12), 1+rng.IntN(28))
	case p < 8:
		e.BirthDate = fmt.Sprintf("%04d", y)
	}
	return e
}

// aliasOf makes a plausible alias: reordered, upper-cased "SURNAME, Given",
// a transliteration variant of one letter group, or a dropped middle part.
func aliasOf(rng *rand.Rand, name string) string {
	parts := strings.Fields(name)
	switch rng.IntN(4) {
	case 0:
		if len(parts) > 1 {
			return strings.ToUpper(parts[len(parts)-1]) + ", " + strings.Join(parts[:len(parts)-1], " ")
		}
	case 1:
		for _, sw := range [][2]string{{"ou", "u"}, {"u", "o"}, {"y", "i"}, {"kh", "h"}, {"ee", "i"}, {"ai", "ay"}, {"e", "a"}, {"ov", "off"}, {"sh", "ch"}} {
			if strings.Contains(name, sw[0]) {
				return strings.Replace(name, sw[0], sw[1], 1)
			}
		}
	case 2:
		if len(parts) > 2 {
			return parts[0] + " " + strings.Join(parts[2:], " ")
		}
	}
	if len(parts) > 1 {
		return strings.Join(append(parts[1:], parts[0]), " ")
	}
	return name + "a"
}

var (
	coPrefix = words("Golden Global Nord Sun Star Blue Green Red Silver Eastern Western Northern Pacific Atlantic United Royal Grand New Prime First Alpha Delta Omega Eagle Falcon Lion Tiger Dragon Phoenix Ocean Sky Mountain River Crystal Diamond Emerald")
	coCore   = words("tech trans petro gaz stroy invest logist chem agro metal marine aero electro energo med pharm tex food build auto ship steel oil grain")
	coTail   = words("ex ix on ia um ora is al co tron nova lux ium")
	coSector = words("Trading Logistics Shipping Industries Holdings Group International Services Solutions Engineering Construction Electronics Petroleum Chemicals Investment Enterprises Technologies Import Export Freight Marine Energy Mining Textiles Foods Pharmaceuticals Metals")
	coForm   = words("LLC Ltd GmbH AG SARL SA Inc Corp Co. JSC OOO PJSC BV S.r.l. S.p.A. PLC FZE FZCO Sdn.Bhd. Pte.Ltd. Limited Co.,Ltd.")
	coCity   = words("Shenzhen Shanghai Dubai Istanbul Hamburg Rotterdam Moscow Singapore Mumbai Karachi Tehran Lagos Odessa Minsk Almaty Tashkent Baku")
	cyrCo    = []string{"ООО", "АО", "ПАО", "ЗАО"}
	cyrCore  = []string{"Стройинвест", "Трансойл", "Промтех", "Агроресурс", "Металлснаб", "Энергомаш", "Газпромсервис", "Нефтехим", "Морфлот", "Сибтранс"}
)

func genCompany(rng *rand.Rand, id uint32) Entry {
	c := pick(rng, coCore)
	core := strings.ToUpper(c[:1]) + c[1:] + pick(rng, coTail)
	var n string
	formFirst := false // Russian forms lead: ООО «...»
	switch rng.IntN(6) {
	case 0:
		formFirst = true
		n = pick(rng, cyrCo) + " " + pick(rng, cyrCore) + fmt.Sprint(rng.IntN(30))
		if rng.IntN(2) == 0 {
			n = pick(rng, cyrCo) + " «" + pick(rng, cyrCore) + "-" + core + "»"
		}
	case 1:
		n = pick(rng, coCity) + " " + core + " " + zipf(rng, coSector) + " " + pick(rng, coForm)
	case 2:
		n = zipf(rng, coPrefix) + " " + zipf(rng, coPrefix) + " " + zipf(rng, coSector) + " " + pick(rng, coForm)
	default:
		n = zipf(rng, coPrefix) + " " + core + " " + zipf(rng, coSector) + " " + pick(rng, coForm)
	}
	names := []string{n}
	if rng.IntN(3) == 0 {
		// The alias is the name without its legal form, wherever it stands.
		f := strings.Fields(n)
		if formFirst {
			f = f[1:]
		} else {
			f = f[:len(f)-1]
		}
		names = append(names, strings.ToUpper(strings.Join(f, " ")))
	}
	return Entry{ID: id, Kind: KindCompany, Names: names, Nationalities: []string{pick(rng, coNats)}}
}

var coNats = words("CN AE TR DE NL RU SG IN PK IR NG UA BY KZ UZ AZ HK GB US")

func words(s string) []string { return strings.Fields(s) }

func pick(rng *rand.Rand, xs []string) string { return xs[rng.IntN(len(xs))] }

// zipf picks with probability falling off as 1/(rank+1): the first names
// of a pool are the common ones.
func zipf(rng *rand.Rand, xs []string) string {
	// Inverse of the harmonic CDF, approximated: rank = n^u - 1.
	n := float64(len(xs))
	u := rng.Float64()
	r := int(math.Pow(n+1, u)) - 1
	if r < 0 {
		r = 0
	}
	if r >= len(xs) {
		r = len(xs) - 1
	}
	return xs[r]
}
