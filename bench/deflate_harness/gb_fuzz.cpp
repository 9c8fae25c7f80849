// gb_fuzz raw.deflate iterations seed: corrupt the choices, rebuild, count refused / wrong / same.
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "grittibanzli.h"
static std::vector<uint8_t> rd(const char* p){FILE*f=fopen(p,"rb");std::vector<uint8_t> v;unsigned char b[65536];size_t n;while((n=fread(b,1,sizeof b,f))>0)v.insert(v.end(),b,b+n);fclose(f);return v;}
int main(int argc,char**argv){
  auto raw=rd(argv[1]); int it=atoi(argv[2]); srand(atoi(argv[3]));
  std::vector<uint8_t> un,ch; if(!grittibanzli::Grittibanzli(raw.data(),raw.size(),&un,&ch)) return 2;
  int refused=0,wrong=0,same=0;
  for(int i=0;i<it;i++){
    auto d=ch; int k=1+rand()%4;
    for(int j=0;j<k;j++){ if(rand()%8==0 && d.size()>1) d.resize(rand()%d.size()); else d[rand()%d.size()]^=(unsigned char)(1+rand()%255);}
    std::vector<uint8_t> re; bool ok=grittibanzli::Ungrittibanzli(un.data(),un.size(),d.data(),d.size(),&re);
    if(!ok) refused++; else if(re==raw) same++; else wrong++;
  }
  printf("refused %d wrong-output %d same %d\n",refused,wrong,same); return 0;}
